# frozen_string_literal: true

require "json"

module TaskerWorkerRb
  # Step handlers by name. A handler is anything answering `call(input)`
  # (a block, lambda or method): it gets the step input (parsed JSON) and
  # returns the step result (anything JSON can encode), or raises to fail
  # the step with the exception's message.
  class HandlerRegistry
    def initialize
      @handlers = {}
    end

    # Registers (or replaces) the handler called `name`; returns self.
    def register(name, handler = nil, &block)
      handler ||= block
      raise ArgumentError, "handler #{name.inspect}: pass a callable or a block" unless handler.respond_to?(:call)

      @handlers[name.to_s] = handler
      self
    end

    def include?(name)
      @handlers.key?(name.to_s)
    end

    # The registered names, sorted.
    def names
      @handlers.keys.sort
    end

    # Runs the handler called `name` on `input` and encodes its result.
    # Returns `[true, result_json]` or `[false, error_message]`: an unknown
    # name, an exception or a result JSON cannot encode become a message.
    def run(name, input)
      handler = @handlers[name.to_s]
      return [false, unknown_message(name)] unless handler

      encode(name, handler.call(input))
    rescue StandardError, ScriptError => e
      [false, e.message]
    end

    private

    def unknown_message(name)
      "no handler registered for #{name.to_s.inspect} (known: #{names.join(", ")})"
    end

    def encode(name, result)
      [true, JSON.generate(result)]
    rescue JSON::GeneratorError, Encoding::UndefinedConversionError => e
      [false, "handler #{name.to_s.inspect} returned a result JSON cannot encode: #{e.message}"]
    end
  end
end
