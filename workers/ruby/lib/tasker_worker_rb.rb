# frozen_string_literal: true

require_relative "tasker_worker_rb/version"
require_relative "tasker_worker_rb/errors"
require_relative "tasker_worker_rb/redact"
require_relative "tasker_worker_rb/handler_registry"
require_relative "tasker_worker_rb/handlers"
require_relative "tasker_worker_rb/worker"

# The Tasker worker for the `ruby` namespace. The pure Ruby parts load
# here; the native extension (TaskerWorkerRb::Native, the Rust core) loads
# with `TaskerWorkerRb.load_native` or on the first database connection.
module TaskerWorkerRb
  NAMESPACE = "ruby"
  SERVICE = "ruby-worker"

  # Loads the native extension and returns TaskerWorkerRb::Native.
  def self.load_native
    require_relative "tasker_worker_rb/native"
    Native
  end
end
