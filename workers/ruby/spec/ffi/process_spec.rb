# frozen_string_literal: true

require "json"
require "net/http"
require "rbconfig"
require "timeout"

# The bin/tasker-worker-rb process, with an unreachable database.
RSpec.describe "bin/tasker-worker-rb" do
  let(:bin) { File.join(SpecSupport::ROOT, "bin", "tasker-worker-rb") }

  # Starts the worker; returns [pid, stderr reader].
  def start(env)
    reader, writer = IO.pipe
    pid = Process.spawn(env, RbConfig.ruby, bin, err: writer, out: File::NULL, unsetenv_others: false)
    writer.close
    [pid, reader]
  end

  # Reads stderr lines until one matches `pattern` (or `timeout` passes).
  def read_until(reader, pattern, timeout: 10)
    text = +""
    Timeout.timeout(timeout) do
      text << reader.readline until text.match?(pattern)
    end
    text
  rescue Timeout::Error, EOFError
    raise "no line matching #{pattern.inspect} in #{timeout}s; stderr so far:\n#{text}"
  end

  def wait(pid, timeout: 10)
    Timeout.timeout(timeout) { Process.wait2(pid).last }
  rescue Timeout::Error
    Process.kill("KILL", pid)
    Process.wait(pid)
    raise "worker did not exit within #{timeout}s"
  end

  def env_for(port)
    { "DATABASE_URL" => SpecSupport::DOWN_URL, "RUBY_WORKER_PORT" => port.to_s, "TASKER_BIND_HOST" => "127.0.0.1",
      "TASKER_ENV" => "test" }
  end

  %w[TERM INT].each do |signal|
    it "serves /health (503 while the database is down) and stops gracefully on SIG#{signal}" do
      port = SpecSupport.free_port
      pid, err = start(env_for(port))
      startup = read_until(err, /health on/)
      expect(startup).to include("tasker-worker-rb #{TaskerWorkerRb::VERSION}: health on " \
                                 "http://127.0.0.1:#{port}/health, namespace ruby (env test, database " \
                                 "postgresql://nobody:***@127.0.0.1:1/none)")
      logged = read_until(err, /retrying/)
      expect(logged).to match(/Connection refused.*\(retrying\)/)

      response = Net::HTTP.get_response(URI("http://127.0.0.1:#{port}/health"))
      expect(response.code).to eq("503")
      expect(JSON.parse(response.body)).to include("service" => "ruby-worker", "status" => "unhealthy")

      Process.kill(signal, pid)
      status = wait(pid)
      expect(status.exitstatus).to eq(0)
      rest = err.read
      expect(rest).to include("stopping after completed=0 failed=0 stale=0")
      expect(startup + logged + rest).not_to include("s3cret")
    ensure
      err&.close
    end
  end

  it "exits 1 with a message when the port is busy" do
    busy = TaskerWorkerRb::Native.serve_health("127.0.0.1", 0, SpecSupport::DOWN_URL, "x", "0")
    pid, err = start(env_for(busy.port))
    status = wait(pid)
    expect(status.exitstatus).to eq(1)
    expect(err.read).to include("tasker-worker-rb: cannot listen on 127.0.0.1:#{busy.port}")
  ensure
    busy&.shutdown
    err&.close
  end

  it "exits 2 with a message when DATABASE_URL is missing" do
    pid, err = start("DATABASE_URL" => nil)
    expect(wait(pid).exitstatus).to eq(2)
    expect(err.read).to eq("tasker-worker-rb: DATABASE_URL is not set\n")
  ensure
    err&.close
  end
end
