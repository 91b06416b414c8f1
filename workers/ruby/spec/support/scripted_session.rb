# frozen_string_literal: true

require "json"

# A stand-in for TaskerWorkerRb::Native::Session in the worker loop's unit
# specs: hands out the step JSON it was given and records what the worker
# asks of it. No database behaviour is imitated beyond that.
class ScriptedSession
  attr_reader :calls, :outcomes

  def initialize(steps, complete_error: nil)
    @steps = steps.dup
    @complete_error = complete_error
    @calls = []
    @outcomes = []
  end

  def worker_id = "ruby-1-1"
  def queue_name = "ruby_unit_queue"

  def claim(visibility_timeout_ms)
    @calls << [:claim, visibility_timeout_ms]
    @steps.shift
  end

  def complete(step_json, result_json)
    raise TaskerWorkerRb::Error, @complete_error if @complete_error

    @outcomes << [:complete, JSON.parse(step_json).fetch("step_id"), JSON.parse(result_json)]
  end

  def fail(step_json, message)
    @outcomes << [:fail, JSON.parse(step_json).fetch("step_id"), message]
  end

  def wait_for_work(timeout_ms)
    @calls << [:wait, timeout_ms]
    false
  end
end
