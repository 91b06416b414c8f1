# frozen_string_literal: true

require "json"
require_relative "errors"
require_relative "handlers"

module TaskerWorkerRb
  # Reconnect delays: 250 ms doubling up to 10 s, reset after a successful
  # connect.
  class Backoff
    attr_reader :initial, :max

    def initialize(initial: 0.25, max: 10.0)
      @initial = initial
      @max = max
      reset
    end

    # The delay to wait now (seconds); the next one doubles, up to `max`.
    def next_delay
      delay = @current
      @current = [@current * 2, @max].min
      delay
    end

    def reset
      @current = @initial
    end
  end

  # The worker loop for one namespace: claim a step, run its handler from
  # the registry, record the outcome; sleep on LISTEN/NOTIFY when idle;
  # reconnect with backoff when the database goes away.
  #
  # The Rust core does the database work (`Native::Session`); this class
  # only decides what to run. `process_one` / `run_once` drive it step by
  # step (tests), `run` loops until `stop` (the process).
  class Worker
    DEFAULT_VISIBILITY_TIMEOUT_MS = 30_000
    DEFAULT_POLL_MS = 1_000
    LOG_PREFIX = "tasker-worker-rb"
    # How the Rust core reports a claim that expired before the outcome was
    # recorded (WorkerError::StaleClaim): skipped, not a connection error.
    STALE_CLAIM = /no longer claimed by this worker/

    attr_reader :namespace, :registry, :stats, :session

    # - `session_factory`: `call(database_url, namespace)` -> a session
    #   (default: `Native::Session.new`, loading the extension on first use)
    # - `sleeper`: `call(seconds)` for the reconnect backoff (default: a
    #   sleep that ends early once `stop` is called)
    # - `log`: an IO for log lines (default `$stderr`)
    def initialize(database_url:, namespace:, registry: Handlers.registry, log: $stderr, **options)
      @database_url = database_url
      @namespace = namespace
      @registry = registry
      @log = log
      @visibility_timeout_ms = options.fetch(:visibility_timeout_ms, DEFAULT_VISIBILITY_TIMEOUT_MS)
      @poll_ms = options.fetch(:poll_ms, DEFAULT_POLL_MS)
      @session_factory = options.fetch(:session_factory) { method(:native_session) }
      @sleeper = options.fetch(:sleeper) { method(:interruptible_sleep) }
      @backoff = options.fetch(:backoff) { Backoff.new }
      @stop = false
      @session = nil
      @stats = { completed: 0, failed: 0, stale: 0 }
    end

    # Asks `run` to return after the step in hand. Safe to call from a
    # signal trap or another thread (it only sets a flag).
    def stop
      @stop = true
    end

    def stopping?
      @stop
    end

    # Opens the session if there is none; returns it.
    def connect
      return @session if @session

      @session = @session_factory.call(@database_url, @namespace)
    end

    # Drops the session (the next call reconnects).
    def close
      session = @session
      @session = nil
      session&.close if session.respond_to?(:close)
    end

    # Claims one step and records its outcome. Returns `:completed`,
    # `:failed`, `:stale`, or nil when no step was visible. Raises
    # TaskerWorkerRb::Error on a database error.
    def process_one
      session = connect
      step_json = session.claim(@visibility_timeout_ms)
      return nil unless step_json

      record(session, step_json, JSON.parse(step_json))
    end

    # Like `process_one`, but waits up to `timeout_ms` (NOTIFY) for a step
    # to arrive. Returns the outcome, or nil if nothing came.
    def run_once(timeout_ms: @poll_ms)
      deadline = monotonic + (timeout_ms / 1000.0)
      loop do
        outcome = process_one
        return outcome if outcome

        left_ms = ((deadline - monotonic) * 1000).ceil
        return nil if left_ms <= 0

        connect.wait_for_work(left_ms)
      end
    end

    # Processes steps until `stop`, reconnecting with backoff on database
    # errors. An error is logged when it differs from the previous one or
    # follows a successful connect. Returns the stats.
    def run
      @last_error = nil
      until stopping?
        begin
          serve
        rescue Error => e
          close
          log("#{e.message} (retrying)") unless e.message == @last_error
          @last_error = e.message
          @sleeper.call(@backoff.next_delay)
        end
      end
      log("stopping after #{stats_text}")
      close
      stats
    end

    private

    def serve
      session = connect
      log("#{session.worker_id} serving #{session.queue_name} with handlers #{@registry.names.join(", ")}")
      @backoff.reset
      @last_error = nil
      until stopping?
        outcome = process_one
        session.wait_for_work(@poll_ms) if outcome.nil? && !stopping?
      end
    end

    def record(session, step_json, step)
      ok, payload = @registry.run(step["handler"], step["input"])
      if ok
        session.complete(step_json, payload)
      else
        session.fail(step_json, payload)
      end
      count(ok ? :completed : :failed)
    rescue Error => e
      raise unless STALE_CLAIM.match?(e.message)

      log("worker #{session.worker_id}: #{e.message}")
      count(:stale)
    end

    def count(outcome)
      @stats[outcome] += 1
      outcome
    end

    def stats_text
      @stats.map { |k, v| "#{k}=#{v}" }.join(" ")
    end

    def log(line)
      @log&.puts("#{LOG_PREFIX}: #{line}")
    end

    def native_session(database_url, namespace)
      require_relative "native"
      Native::Session.new(database_url, namespace)
    end

    # Sleeps up to `seconds`, in short slices so `stop` is noticed quickly.
    def interruptible_sleep(seconds)
      deadline = monotonic + seconds
      until stopping?
        left = deadline - monotonic
        break if left <= 0

        sleep([left, 0.05].min)
      end
    end

    def monotonic
      Process.clock_gettime(Process::CLOCK_MONOTONIC)
    end
  end
end
