# frozen_string_literal: true

require "json"
require "net/http"
require "stringio"

# Real round trips through the database: submit a task as the API does
# (Native::Testing.submit), let the Ruby worker process the step with its
# handlers, settle it as the orchestration results loop does, and check the
# task. Each example uses its own namespace (ruby_it_<pid>_<n>).
RSpec.describe TaskerWorkerRb::Worker do
  let(:database_url) { SpecSupport.database_url }
  let(:namespace) { SpecSupport.unique_namespace }
  let(:testing) { TaskerWorkerRb::Native::Testing }
  let(:log) { StringIO.new }
  let(:worker) { described_class.new(database_url: database_url, namespace: namespace, log: log) }

  after { worker.close }

  def submit(handler, input)
    testing.submit(database_url, namespace, handler, JSON.generate(input))
  end

  def settle(task_id)
    JSON.parse(testing.settle(database_url, task_id, 10_000))
  end

  # Submits, processes exactly one step with the worker, settles.
  def round_trip(handler, input)
    worker.connect
    task_id = submit(handler, input)
    outcome = worker.run_once(timeout_ms: 5_000)
    [outcome, settle(task_id).merge("submitted_id" => task_id)]
  end

  it "completes sum with the handler's result (integers stay integers)" do
    outcome, task = round_trip("sum", [1, 2])
    expect(outcome).to eq(:completed)
    expect(task).to include("id" => task["submitted_id"], "namespace" => namespace, "handler" => "sum",
                            "status" => "complete", "result" => { "sum" => 3 })
    expect(task["result"]["sum"]).to be_an(Integer)
  end

  it "completes sum over {numbers: [...]} with floats" do
    _, task = round_trip("sum", { "numbers" => [1, 2.5] })
    expect(task).to include("status" => "complete", "result" => { "sum" => 3.5 })
  end

  it "completes reverse by characters" do
    _, task = round_trip("reverse", { "text" => "héllo" })
    expect(task).to include("status" => "complete", "result" => { "reversed" => "olléh" })
    _, task = round_trip("reverse", "abc")
    expect(task).to include("status" => "complete", "result" => { "reversed" => "cba" })
  end

  it "records the fail handler's message as the task error" do
    outcome, task = round_trip("fail", { "message" => "custom failure" })
    expect(outcome).to eq(:failed)
    expect(task).to include("status" => "error", "error" => "custom failure")
    _, task = round_trip("fail", nil)
    expect(task).to include("status" => "error", "error" => "fail: this handler always fails")
  end

  it "fails a step for an unknown handler, naming it" do
    outcome, task = round_trip("no_such_handler", {})
    expect(outcome).to eq(:failed)
    expect(task).to include("status" => "error",
                            "error" => 'no handler registered for "no_such_handler" (known: fail, reverse, sum)')
  end

  it "fails a step with the message of a handler exception" do
    registry = TaskerWorkerRb::Handlers.registry.register("explode") { |input| raise ArgumentError, "bad #{input}" }
    worker = described_class.new(database_url: database_url, namespace: namespace, registry: registry)
    worker.connect
    task_id = submit("explode", 7)
    expect(worker.run_once(timeout_ms: 5_000)).to eq(:failed)
    expect(settle(task_id)).to include("status" => "error", "error" => "bad 7")
  ensure
    worker&.close
  end

  it "returns nil from process_one when the namespace has no work" do
    expect(worker.process_one).to be_nil
    expect(worker.run_once(timeout_ms: 100)).to be_nil
    expect(worker.stats).to eq(completed: 0, failed: 0, stale: 0)
  end

  it "runs in a thread until stopped, woken by NOTIFY (the GVL is released while it waits)" do
    thread = Thread.new { worker.run }
    task_ids = [submit("sum", [20, 22]), submit("reverse", "ruby")]
    tasks = task_ids.map { |id| settle(id) }
    worker.stop
    expect(thread.join(10)).not_to be_nil
    expect(tasks.map { |t| [t["status"], t["result"]] })
      .to eq([["complete", { "sum" => 42 }], ["complete", { "reversed" => "ybur" }]])
    expect(thread.value).to eq(completed: 2, failed: 0, stale: 0)
    expect(log.string).to include("serving #{namespace}_queue with handlers fail, reverse, sum")
  end
end

RSpec.describe "TaskerWorkerRb::Native::Session" do
  let(:database_url) { SpecSupport.database_url }
  let(:namespace) { SpecSupport.unique_namespace }
  let(:session) { TaskerWorkerRb::Native::Session.new(database_url, namespace) }

  after { session.close }

  it "names its queue and worker" do
    expect(session.queue_name).to eq("#{namespace}_queue")
    expect(session.worker_id).to start_with("#{namespace}-#{Process.pid}-")
  end

  it "claims a step as JSON with every field, and completes it" do
    session
    task_id = TaskerWorkerRb::Native::Testing.submit(database_url, namespace, "sum", "[1,2]")
    expect(session.wait_for_work(5_000)).to be(true)
    step_json = session.claim(30_000)
    step = JSON.parse(step_json)
    expect(step.keys).to contain_exactly("msg_id", "step_id", "task_id", "namespace", "handler", "input", "attempt")
    expect(step).to include("task_id" => task_id, "namespace" => namespace, "handler" => "sum", "input" => [1, 2],
                            "attempt" => 1)
    expect(session.claim(30_000)).to be_nil
    session.complete(step_json, '{"sum":3}')
    task = JSON.parse(TaskerWorkerRb::Native::Testing.settle(database_url, task_id, 10_000))
    expect(task).to include("status" => "complete", "result" => { "sum" => 3 })
  end

  it "raises TaskerWorkerRb::Error for step JSON it cannot read" do
    expect { session.complete("not json", "{}") }.to raise_error(TaskerWorkerRb::Error, /\Astep is not JSON/)
    expect { session.fail('{"msg_id":1}', "x") }
      .to raise_error(TaskerWorkerRb::Error, "step: missing field step_id (an integer)")
  end

  it "raises TaskerWorkerRb::Error for a result that is not JSON, and for a stale claim" do
    session
    TaskerWorkerRb::Native::Testing.submit(database_url, namespace, "sum", "[1]")
    step_json = session.claim(30_000)
    expect { session.complete(step_json, "{nope") }.to raise_error(TaskerWorkerRb::Error, /invalid JSON/)
    session.fail(step_json, "first outcome")
    expect { session.fail(step_json, "second outcome") }
      .to raise_error(TaskerWorkerRb::Error, TaskerWorkerRb::Worker::STALE_CLAIM)
  end

  it "raises after close" do
    expect(session.close).to be(true)
    expect(session).to be_closed
    expect { session.claim(1_000) }.to raise_error(TaskerWorkerRb::Error, "session is closed")
    expect(session.close).to be(false)
  end

  it "reports a healthy database on /health" do
    server = TaskerWorkerRb::Native.serve_health("127.0.0.1", 0, database_url, "ruby-worker", "1.0.0")
    response = Net::HTTP.get_response(URI("http://#{server.address}/health"))
    expect(response.code).to eq("200")
    expect(JSON.parse(response.body)).to include("status" => "healthy", "service" => "ruby-worker")
  ensure
    server&.shutdown
  end
end
