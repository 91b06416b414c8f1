# frozen_string_literal: true

require "json"
require "stringio"
require_relative "../support/scripted_session"

# The loop logic, without a database: ScriptedSession (spec/support) is an
# in-memory stand-in with Native::Session's methods, fed step JSON by the
# spec. The real session is exercised by spec/ffi (errors) and
# spec/integration (a real database).
RSpec.describe TaskerWorkerRb::Worker do
  def step(id, handler, input)
    JSON.generate("msg_id" => id, "step_id" => id, "task_id" => id, "namespace" => "ruby",
                  "handler" => handler, "input" => input, "attempt" => 1)
  end

  let(:log) { StringIO.new }

  def worker_for(session, **options)
    described_class.new(database_url: SpecSupport::DOWN_URL, namespace: "ruby", log: log,
                        session_factory: ->(_url, _ns) { session }, **options)
  end

  describe "#process_one" do
    it "runs the step's handler and completes it with the result" do
      session = ScriptedSession.new([step(1, "sum", [1, 2]), step(2, "reverse", { "text" => "abc" })])
      worker = worker_for(session, visibility_timeout_ms: 5_000)
      expect(worker.process_one).to eq(:completed)
      expect(worker.process_one).to eq(:completed)
      expect(worker.process_one).to be_nil
      expect(session.outcomes).to eq([[:complete, 1, { "sum" => 3 }], [:complete, 2, { "reversed" => "cba" }]])
      expect(session.calls).to all(eq([:claim, 5_000]))
      expect(worker.stats).to eq(completed: 2, failed: 0, stale: 0)
    end

    it "fails the step with the handler's message" do
      session = ScriptedSession.new([step(1, "fail", { "message" => "custom" }), step(2, "sum", "x")])
      worker = worker_for(session)
      expect([worker.process_one, worker.process_one]).to eq(%i[failed failed])
      expect(session.outcomes).to eq([
                                       [:fail, 1, "custom"],
                                       [:fail, 2, 'sum: expected {"numbers": [...]} or an array of numbers']
                                     ])
    end

    it "fails a step whose handler is unknown, naming it" do
      session = ScriptedSession.new([step(1, "nope", nil)])
      worker_for(session).process_one
      expect(session.outcomes).to eq([[:fail, 1, 'no handler registered for "nope" (known: fail, reverse, sum)']])
    end

    it "uses the registry it is given" do
      registry = TaskerWorkerRb::HandlerRegistry.new.register("boom") { raise ArgumentError, "bad input" }
      session = ScriptedSession.new([step(1, "boom", 1)])
      worker_for(session, registry: registry).process_one
      expect(session.outcomes).to eq([[:fail, 1, "bad input"]])
    end

    it "counts a stale claim and carries on" do
      stale = "step 1 is no longer claimed by this worker (visibility timeout passed or already finished)"
      session = ScriptedSession.new([step(1, "sum", [1])], complete_error: stale)
      worker = worker_for(session)
      expect(worker.process_one).to eq(:stale)
      expect(worker.stats).to eq(completed: 0, failed: 0, stale: 1)
      expect(log.string).to eq("tasker-worker-rb: worker ruby-1-1: #{stale}\n")
    end

    it "raises other database errors (the run loop reconnects)" do
      session = ScriptedSession.new([step(1, "sum", [1])], complete_error: "database error: connection closed")
      expect { worker_for(session).process_one }.to raise_error(TaskerWorkerRb::Error, /connection closed/)
    end
  end

  describe "#run_once" do
    it "waits for work until the timeout when nothing is there" do
      session = ScriptedSession.new([])
      expect(worker_for(session).run_once(timeout_ms: 50)).to be_nil
      waits = session.calls.select { |c| c.first == :wait }
      expect(waits).not_to be_empty
      expect(waits.map(&:last)).to all(be_between(1, 50))
    end

    it "returns the outcome of the first step" do
      session = ScriptedSession.new([step(7, "sum", [5])])
      expect(worker_for(session).run_once(timeout_ms: 1_000)).to eq(:completed)
    end
  end

  describe "#run" do
    it "processes steps and idles on wait_for_work until stopped" do
      session = ScriptedSession.new([step(1, "sum", [1, 1])])
      worker = worker_for(session, poll_ms: 10)
      session.define_singleton_method(:wait_for_work) do |ms|
        calls << [:wait, ms]
        worker.stop
        false
      end
      expect(worker.run).to eq(completed: 1, failed: 0, stale: 0)
      expect(session.calls.last).to eq([:wait, 10])
      expect(log.string.lines).to eq(
        ["tasker-worker-rb: ruby-1-1 serving ruby_unit_queue with handlers fail, reverse, sum\n",
         "tasker-worker-rb: stopping after completed=1 failed=0 stale=0\n"]
      )
    end

    it "reconnects with backoff from 250 ms doubling to 10 s, logging each distinct error once" do
      attempts = 0
      errors = (["connection refused"] * 3) + (["timed out"] * 7)
      delays = []
      worker = nil
      factory = lambda do |_url, _ns|
        attempts += 1
        raise TaskerWorkerRb::Error, errors[attempts - 1]
      end
      sleeper = lambda do |seconds|
        delays << seconds
        worker.stop if delays.size == errors.size
      end
      worker = described_class.new(database_url: SpecSupport::DOWN_URL, namespace: "ruby", log: log,
                                   session_factory: factory, sleeper: sleeper)
      worker.run
      expect(attempts).to eq(10)
      expect(delays).to eq([0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 10.0, 10.0, 10.0, 10.0])
      expect(log.string.lines).to eq([
                                       "tasker-worker-rb: connection refused (retrying)\n",
                                       "tasker-worker-rb: timed out (retrying)\n",
                                       "tasker-worker-rb: stopping after completed=0 failed=0 stale=0\n"
                                     ])
    end

    it "resets the backoff and the last logged error after a successful connect" do
      attempts = 0
      delays = []
      worker = nil
      session = ScriptedSession.new([])
      session.define_singleton_method(:claim) { |_| raise TaskerWorkerRb::Error, "connection lost" }
      factory = lambda do |_url, _ns|
        attempts += 1
        raise TaskerWorkerRb::Error, "refused #{attempts}" if attempts.odd?

        session
      end
      sleeper = lambda do |seconds|
        delays << seconds
        worker.stop if delays.size == 4
      end
      worker = described_class.new(database_url: SpecSupport::DOWN_URL, namespace: "ruby", log: log,
                                   session_factory: factory, sleeper: sleeper)
      worker.run
      expect(delays).to eq([0.25, 0.25, 0.5, 0.25])
      expect(log.string.lines.grep(/retrying/)).to eq([
                                                        "tasker-worker-rb: refused 1 (retrying)\n",
                                                        "tasker-worker-rb: connection lost (retrying)\n",
                                                        "tasker-worker-rb: refused 3 (retrying)\n",
                                                        "tasker-worker-rb: connection lost (retrying)\n"
                                                      ])
    end

    it "returns at once when stopped before it starts" do
      worker = worker_for(ScriptedSession.new([]))
      worker.stop
      expect(worker.run).to eq(completed: 0, failed: 0, stale: 0)
      expect(worker).to be_stopping
    end
  end
end

RSpec.describe TaskerWorkerRb::Backoff do
  it "doubles from the initial delay up to the maximum, and resets" do
    backoff = described_class.new
    expect(Array.new(8) { backoff.next_delay }).to eq([0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 10.0, 10.0])
    backoff.reset
    expect(backoff.next_delay).to eq(0.25)
  end
end
