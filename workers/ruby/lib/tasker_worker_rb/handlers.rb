# frozen_string_literal: true

require "json"
require_relative "errors"
require_relative "handler_registry"

module TaskerWorkerRb
  # The Ruby worker's step handlers: `sum`, `reverse` and `fail`, with the
  # same contract as the Rust worker's (workers/rust/src/handlers.rs).
  module Handlers
    SUM_EXPECTED = 'sum: expected {"numbers": [...]} or an array of numbers'
    REVERSE_EXPECTED = 'reverse: expected {"text": "..."} or a string'
    FAIL_DEFAULT = "fail: this handler always fails"
    I64_RANGE = (-(2**63)..((2**63) - 1))

    module_function

    # Every handler this worker serves.
    def registry
      HandlerRegistry.new
                     .register("sum", method(:sum))
                     .register("reverse", method(:reverse))
                     .register("fail", method(:fail))
    end

    # Adds numbers: input `[1, 2]` or `{"numbers": [1, 2]}`, output
    # `{"sum": 3}`. Integers stay integers unless the sum leaves the 64-bit
    # range (then, like any float in the input, the sum is a float).
    def sum(input)
      numbers = sum_operands(input)
      int_total = 0
      float_total = 0.0
      numbers.each_with_index do |n, i|
        unless n.is_a?(Integer) || n.is_a?(Float)
          raise HandlerError, "sum: element #{i} is not a number: #{JSON.generate(n)}"
        end

        float_total += n.to_f
        int_total = checked_add(int_total, n)
      end
      { "sum" => int_total || float_total }
    end

    # Reverses a string by characters: input `"abc"` or `{"text": "abc"}`,
    # output `{"reversed": "cba"}`.
    def reverse(input)
      text = case input
             when String then input
             when Hash then input["text"]
             end
      raise HandlerError, REVERSE_EXPECTED unless text.is_a?(String)

      { "reversed" => text.reverse }
    end

    # Always fails, with `{"message": "..."}` as the error if given.
    def fail(input)
      message = input["message"] if input.is_a?(Hash)
      raise HandlerError, message.is_a?(String) ? message : FAIL_DEFAULT
    end

    def sum_operands(input)
      numbers = case input
                when Array then input
                when Hash then input["numbers"]
                end
      raise HandlerError, SUM_EXPECTED unless numbers.is_a?(Array)

      numbers
    end

    # `total + n` while both are 64-bit integers and so is the sum, else nil.
    def checked_add(total, number)
      return nil unless total && number.is_a?(Integer) && I64_RANGE.cover?(number)

      sum = total + number
      I64_RANGE.cover?(sum) ? sum : nil
    end
  end
end
