# frozen_string_literal: true

require "json"
require "net/http"
require "rbconfig"
require "timeout"

# The bin/tasker-worker-rb process against the real database, serving the
# "ruby" namespace as in production.
RSpec.describe "bin/tasker-worker-rb with a database" do
  let(:database_url) { SpecSupport.database_url }

  def read_until(reader, pattern, timeout: 15)
    text = +""
    Timeout.timeout(timeout) { text << reader.readline until text.match?(pattern) }
    text
  rescue Timeout::Error, EOFError
    raise "no line matching #{pattern.inspect} in #{timeout}s; stderr so far:\n#{text}"
  end

  it "is healthy, processes ruby steps and exits 0 on SIGTERM" do
    port = SpecSupport.free_port
    reader, writer = IO.pipe
    env = { "DATABASE_URL" => database_url, "RUBY_WORKER_PORT" => port.to_s, "TASKER_BIND_HOST" => "127.0.0.1" }
    pid = Process.spawn(env, RbConfig.ruby, File.join(SpecSupport::ROOT, "bin", "tasker-worker-rb"),
                        err: writer, out: File::NULL)
    writer.close
    read_until(reader, /serving ruby_queue with handlers fail, reverse, sum/)

    response = Net::HTTP.get_response(URI("http://127.0.0.1:#{port}/health"))
    expect(response.code).to eq("200")
    expect(JSON.parse(response.body)).to include("status" => "healthy", "service" => "ruby-worker",
                                                 "version" => TaskerWorkerRb::VERSION)

    testing = TaskerWorkerRb::Native::Testing
    text = "process #{Process.pid}"
    task_id = testing.submit(database_url, "ruby", "reverse", JSON.generate("text" => text))
    task = JSON.parse(testing.settle(database_url, task_id, 15_000))
    expect(task).to include("status" => "complete", "result" => { "reversed" => text.reverse })

    Process.kill("TERM", pid)
    status = Timeout.timeout(10) { Process.wait2(pid).last }
    pid = nil
    expect(status.exitstatus).to eq(0)
    expect(reader.read).to include("stopping after")
  ensure
    if pid
      Process.kill("KILL", pid)
      Process.wait(pid)
    end
    reader&.close
  end
end
