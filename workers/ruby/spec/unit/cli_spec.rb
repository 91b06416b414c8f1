# frozen_string_literal: true

require "stringio"
require "tasker_worker_rb/cli"

RSpec.describe TaskerWorkerRb::CLI do
  describe ".config" do
    it "uses the defaults when only DATABASE_URL is set" do
      config = described_class.config("DATABASE_URL" => "postgresql://u:pw@db/x")
      expect(config.to_h).to eq(database_url: "postgresql://u:pw@db/x", port: 8082, bind_host: "0.0.0.0",
                                environment: "development")
      expect(config.redacted_database_url).to eq("postgresql://u:***@db/x")
    end

    it "reads RUBY_WORKER_PORT, TASKER_BIND_HOST and TASKER_ENV" do
      config = described_class.config("DATABASE_URL" => "postgresql://db/x", "RUBY_WORKER_PORT" => " 9002 ",
                                      "TASKER_BIND_HOST" => "127.0.0.1", "TASKER_ENV" => "test")
      expect([config.port, config.bind_host, config.environment]).to eq([9002, "127.0.0.1", "test"])
    end

    it "treats blank values as unset" do
      config = described_class.config("DATABASE_URL" => "x", "RUBY_WORKER_PORT" => "", "TASKER_BIND_HOST" => " ")
      expect([config.port, config.bind_host]).to eq([8082, "0.0.0.0"])
      expect { described_class.config("DATABASE_URL" => "  ") }
        .to raise_error(TaskerWorkerRb::ConfigError, "DATABASE_URL is not set")
    end

    it "rejects ports outside 1-65535" do
      %w[0 65536 -1 abc 80x 1.5].each do |bad|
        expect { described_class.config("DATABASE_URL" => "x", "RUBY_WORKER_PORT" => bad) }
          .to raise_error(TaskerWorkerRb::ConfigError, "RUBY_WORKER_PORT=#{bad.inspect} is not a valid port (1-65535)")
      end
    end
  end

  describe "#run" do
    it "exits 2 with a message when DATABASE_URL is missing" do
      err = StringIO.new
      expect(described_class.new(env: {}, err: err).run).to eq(2)
      expect(err.string).to eq("tasker-worker-rb: DATABASE_URL is not set\n")
    end

    it "exits 2 with a message when the port is invalid" do
      err = StringIO.new
      code = described_class.new(env: { "DATABASE_URL" => "x", "RUBY_WORKER_PORT" => "99999" }, err: err).run
      expect(code).to eq(2)
      expect(err.string).to eq(%(tasker-worker-rb: RUBY_WORKER_PORT="99999" is not a valid port (1-65535)\n))
    end
  end
end
