# frozen_string_literal: true

module TaskerWorkerRb
  # An error reported by the Rust core (connection, queue or claim
  # problems); the message is the Rust error text. The native extension
  # defines the same class (same superclass), so either may load first.
  class Error < StandardError; end

  # Raised by a step handler to fail its step with this message.
  class HandlerError < StandardError; end

  # A configuration problem found before the worker starts (exit code 2).
  class ConfigError < StandardError; end
end
