# frozen_string_literal: true

require "json"
require "net/http"
require "stringio"

# Calls into the built native extension (lib/tasker_worker_rb/tasker_worker_rb.so, .bundle on macOS);
# no database: the URL points where nothing listens.
RSpec.describe "TaskerWorkerRb::Native" do
  let(:native) { TaskerWorkerRb::Native }
  let(:down) { SpecSupport::DOWN_URL }

  def get(server, path)
    Net::HTTP.start("127.0.0.1", server.port, open_timeout: 5, read_timeout: 10) { |http| http.get(path) }
  end

  describe "loading" do
    it "is the extension next to the Ruby sources" do
      loaded = $LOADED_FEATURES.grep(%r{/tasker_worker_rb/tasker_worker_rb\.#{RbConfig::CONFIG["DLEXT"]}\z})
      expect(loaded).to eq([TaskerWorkerRb::NATIVE_PATH])
    end

    it "reports a build id and the crate version" do
      expect(native::BUILD_ID).to be_a(String).and(satisfy { |id| !id.empty? })
      expect(native::VERSION).to eq(TaskerWorkerRb::VERSION)
    end

    it "reports the build id the build system stamped (when TASKER_BUILD_ID is set)",
       if: ENV.key?("TASKER_BUILD_ID") do
      expect(native::BUILD_ID).to eq(ENV.fetch("TASKER_BUILD_ID"))
    end

    it "shares TaskerWorkerRb::Error with the Ruby code" do
      expect(TaskerWorkerRb::Error.superclass).to be(StandardError)
    end
  end

  describe "Session.new" do
    it "raises TaskerWorkerRb::Error with the Rust message when the database is unreachable" do
      expect { native::Session.new(down, "ruby") }
        .to raise_error(TaskerWorkerRb::Error, /connect.*Connection refused/i)
    end

    it "rejects an invalid namespace before connecting" do
      expect { native::Session.new(down, "Bad-Name") }
        .to raise_error(TaskerWorkerRb::Error, /invalid namespace "Bad-Name"/)
    end

    it "checks argument types like a Ruby method" do
      expect { native::Session.new(down) }.to raise_error(ArgumentError)
      expect { native::Session.new(42, "ruby") }.to raise_error(TypeError)
    end
  end

  describe ".serve_health" do
    let(:server) { native.serve_health("127.0.0.1", 0, down, "ruby-worker", "9.9.9") }

    after { server.shutdown }

    it "answers GET /health with 503 and the report when the database is down" do
      response = get(server, "/health")
      expect(response.code).to eq("503")
      expect(response["content-type"]).to include("application/json")
      report = JSON.parse(response.body)
      expect(report).to include("status" => "unhealthy", "service" => "ruby-worker", "version" => "9.9.9")
      expect(report.dig("checks", "database", "status")).to eq("unhealthy")
      expect(report.dig("checks", "database", "message")).to match(/refused/i)
    end

    it "routes like the Rust worker" do
      expect(get(server, "/nope").code).to eq("404")
      post = Net::HTTP.start("127.0.0.1", server.port) do |http|
        http.post("/health", "{}", "Content-Type" => "application/json")
      end
      expect(post.code).to eq("405")
    end

    it "reports its address and stops once" do
      expect(server.address).to eq("127.0.0.1:#{server.port}")
      expect(server.port).to be_between(1, 65_535)
      expect(server).to be_running
      expect(server.shutdown).to be(true)
      expect(server.shutdown).to be(false)
      expect(server).not_to be_running
      expect { get(server, "/health") }.to raise_error(SystemCallError)
    end

    it "raises TaskerWorkerRb::Error naming the address when the port is busy" do
      port = server.port
      expect { native.serve_health("127.0.0.1", port, down, "ruby-worker", "0") }
        .to raise_error(TaskerWorkerRb::Error, /cannot listen on 127\.0\.0\.1:#{port}/)
    end
  end

  describe "Testing" do
    it "reports bad input before connecting" do
      expect { native::Testing.submit(down, "ruby", "sum", "{oops") }
        .to raise_error(TaskerWorkerRb::Error, /\Ainput is not JSON/)
    end

    it "raises when the database is unreachable" do
      expect { native::Testing.submit(down, "ruby", "sum", "[1]") }.to raise_error(TaskerWorkerRb::Error)
      expect { native::Testing.settle(down, 1, 10) }.to raise_error(TaskerWorkerRb::Error)
    end
  end

  describe TaskerWorkerRb::Worker do
    it "keeps retrying an unreachable database with backoff, logging the error once" do
      log = StringIO.new
      delays = []
      worker = nil
      sleeper = lambda do |seconds|
        delays << seconds
        worker.stop if delays.size == 3
      end
      worker = described_class.new(database_url: down, namespace: SpecSupport.unique_namespace("ffi"),
                                   log: log, sleeper: sleeper)
      expect(worker.run).to eq(completed: 0, failed: 0, stale: 0)
      expect(delays).to eq([0.25, 0.5, 1.0])
      retrying = log.string.lines.grep(/retrying/)
      expect(retrying.size).to eq(1)
      expect(retrying.first).to match(/Connection refused.*\(retrying\)/)
      expect(log.string).not_to include("s3cret")
    end
  end
end
