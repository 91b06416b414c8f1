# frozen_string_literal: true

require_relative "../tasker_worker_rb"

module TaskerWorkerRb
  # The `tasker-worker-rb` process: the Ruby counterpart of
  # workers/rust/src/main.rs.
  #
  # Reads DATABASE_URL, RUBY_WORKER_PORT (default 8082), TASKER_BIND_HOST
  # (default 0.0.0.0) and TASKER_ENV (default development). Serves
  # `GET /health` and processes `ruby_queue`, reconnecting with backoff when
  # the database goes away. Exits 2 on a configuration error and 1 when the
  # port cannot be bound. SIGINT/SIGTERM stop it gracefully (the step in
  # hand is finished first, exit 0); a second signal exits at once.
  class CLI
    DEFAULT_PORT = 8082
    DEFAULT_BIND_HOST = "0.0.0.0"
    DEFAULT_ENVIRONMENT = "development"
    PROG = "tasker-worker-rb"

    # The settings the process needs, read from an environment hash.
    Config = Struct.new(:database_url, :port, :bind_host, :environment, keyword_init: true) do
      def redacted_database_url
        Redact.url(database_url)
      end
    end

    # Reads `env` like the Rust `Config::from_lookup`: blank values count as
    # unset. Raises ConfigError.
    def self.config(env)
      get = ->(name) { (value = env[name]) && !value.strip.empty? ? value : nil }
      database_url = get.call("DATABASE_URL") or raise ConfigError, "DATABASE_URL is not set"
      Config.new(
        database_url: database_url,
        port: parse_port("RUBY_WORKER_PORT", get.call("RUBY_WORKER_PORT")),
        bind_host: get.call("TASKER_BIND_HOST") || DEFAULT_BIND_HOST,
        environment: get.call("TASKER_ENV") || DEFAULT_ENVIRONMENT
      )
    end

    def self.parse_port(var, value)
      return DEFAULT_PORT if value.nil?

      port = Integer(value.strip, 10, exception: false)
      raise ConfigError, "#{var}=#{value.inspect} is not a valid port (1-65535)" unless port&.between?(1, 65_535)

      port
    end

    def initialize(env: ENV, err: $stderr)
      @env = env
      @err = err
    end

    # Runs the worker until a signal; returns the exit code.
    def run
      config = self.class.config(@env)
      worker = Worker.new(database_url: config.database_url, namespace: NAMESPACE, log: @err)
      install_signal_handlers(worker)
      health = start_health(config) or return 1
      log_startup(health, config)
      worker.run
      health.shutdown
      0
    rescue ConfigError => e
      fail_with(2, e.message)
    end

    private

    def start_health(config)
      native = TaskerWorkerRb.load_native
      native.serve_health(config.bind_host, config.port, config.database_url, SERVICE, VERSION)
    rescue Error => e
      fail_with(1, e.message)
      nil
    end

    def log_startup(health, config)
      @err.puts("#{PROG} #{VERSION}: health on http://#{health.address}/health, namespace #{NAMESPACE} " \
                "(env #{config.environment}, database #{config.redacted_database_url})")
    end

    # First SIGINT/SIGTERM: finish the step in hand, then exit 0. Second:
    # exit at once with 128 + the signal number.
    def install_signal_handlers(worker)
      %w[INT TERM].each do |name|
        Signal.trap(name) do |signo|
          exit!(128 + signo) if worker.stopping?
          worker.stop
        end
      end
    end

    def fail_with(code, message)
      @err.puts("#{PROG}: #{message}")
      code
    end
  end
end
