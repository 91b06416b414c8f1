# frozen_string_literal: true

require "rspec/core"
require "rspec/core/formatters/base_formatter"
require "socket"
require "time"

module TaskerWorkerRb
  # Writes the run as JUnit XML (no JUnit formatter gem is installed):
  #
  #   rspec --require ./spec/support/junit_formatter.rb \
  #         --format progress \
  #         --format TaskerWorkerRb::JUnitFormatter --out tmp/rspec.xml
  #
  # One <testsuite> with tests/failures/errors/skipped counts; one
  # <testcase classname name file time> per example, holding <failure>
  # (message, type, and the backtrace as text) or <skipped message>.
  # Errors outside examples (a spec file that does not load, a failing
  # before(:suite)) are counted as errors and reported as one extra
  # testcase with an <error>, so a broken run never looks green.
  class JUnitFormatter < RSpec::Core::Formatters::BaseFormatter
    RSpec::Core::Formatters.register self, :start, :example_passed, :example_failed, :example_pending,
                                     :message, :dump_summary, :close

    # Characters XML 1.0 allows (everything else, e.g. ANSI escapes, is
    # replaced with U+FFFD).
    INVALID_XML_CHARS = /[^\u0009\u000A\u000D\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/
    ESCAPES = { "&" => "&amp;", "<" => "&lt;", ">" => "&gt;", '"' => "&quot;", "'" => "&apos;" }.freeze
    ATTRIBUTE_ESCAPES = ESCAPES.merge("\n" => "&#10;", "\r" => "&#13;", "\t" => "&#9;").freeze

    # Escapes text for element content (XML 1.0, UTF-8).
    def self.escape(text)
      clean(text).gsub(/[&<>"']/, ESCAPES)
    end

    # Escapes text for an attribute value (newlines kept as references).
    def self.escape_attribute(text)
      clean(text).gsub(/[&<>"'\n\r\t]/, ATTRIBUTE_ESCAPES)
    end

    def self.clean(text)
      text.to_s.dup.force_encoding(Encoding::UTF_8).scrub("\uFFFD").gsub(INVALID_XML_CHARS, "\uFFFD")
    end

    def initialize(output)
      super
      @cases = []
      @messages = []
    end

    def start(notification)
      super
      @started = Time.now
    end

    def example_passed(notification)
      @cases << testcase(notification.example)
    end

    def example_failed(notification)
      exception = notification.exception
      @cases << testcase(notification.example).merge(
        failure: {
          message: exception.message.to_s.strip,
          type: exception.class.name,
          text: failure_text(notification)
        }
      )
    end

    def example_pending(notification)
      example = notification.example
      @cases << testcase(example).merge(skipped: example.execution_result.pending_message.to_s)
    end

    def message(notification)
      @messages << notification.message.to_s
    end

    def dump_summary(summary)
      @summary = summary
    end

    def close(_notification)
      output.write(document)
      output.flush
    end

    private

    def testcase(example)
      {
        classname: classname(example),
        name: example.full_description,
        file: example.metadata[:file_path].to_s,
        time: example.execution_result.run_time.to_f
      }
    end

    # spec/unit/handlers_spec.rb -> spec.unit.handlers_spec
    def classname(example)
      example.metadata[:file_path].to_s.sub(%r{\A\./}, "").sub(/\.rb\z/, "").tr("/", ".")
    end

    def failure_text(notification)
      lines = notification.message_lines.map(&:to_s)
      lines << "" << "Backtrace:" << notification.formatted_backtrace.join("\n")
      lines.join("\n")
    end

    def errors_outside_examples
      @summary ? @summary.errors_outside_of_examples_count : 0
    end

    def document
      cases = @cases.dup
      cases << outside_error_case if errors_outside_examples.positive?
      xml = +%(<?xml version="1.0" encoding="UTF-8"?>\n)
      xml << testsuite_open(cases) << "\n"
      cases.each { |c| xml << testcase_xml(c) }
      xml << "  <system-err>#{self.class.escape(@messages.join("\n"))}</system-err>\n" unless @messages.empty?
      xml << "</testsuite>\n"
    end

    def outside_error_case
      {
        classname: "rspec",
        name: "errors outside of examples",
        file: "",
        time: 0.0,
        error: {
          message: "#{errors_outside_examples} error(s) occurred outside of examples",
          type: "RSpec::Core::ErrorOutsideOfExamples",
          text: @messages.join("\n")
        }
      }
    end

    def testsuite_open(cases)
      attrs = {
        name: "rspec",
        tests: cases.size,
        failures: cases.count { |c| c[:failure] },
        errors: cases.count { |c| c[:error] },
        skipped: cases.count { |c| c.key?(:skipped) },
        time: format("%.6f", @summary ? @summary.duration : Time.now - (@started || Time.now)),
        timestamp: (@started || Time.now).utc.iso8601,
        hostname: Socket.gethostname
      }
      "<testsuite #{attributes(attrs)}>"
    end

    def testcase_xml(test)
      attrs = attributes(classname: test[:classname], name: test[:name], file: test[:file],
                         time: format("%.6f", test[:time]))
      body = testcase_body(test)
      return "  <testcase #{attrs}/>\n" if body.empty?

      "  <testcase #{attrs}>\n#{body}  </testcase>\n"
    end

    def testcase_body(test)
      if test[:failure]
        problem_xml("failure", test[:failure])
      elsif test[:error]
        problem_xml("error", test[:error])
      elsif test.key?(:skipped)
        "    <skipped #{attributes(message: test[:skipped])}/>\n"
      else
        ""
      end
    end

    def problem_xml(tag, problem)
      attrs = attributes(message: problem[:message], type: problem[:type])
      "    <#{tag} #{attrs}>#{self.class.escape(problem[:text])}</#{tag}>\n"
    end

    def attributes(pairs)
      pairs.map { |key, value| %(#{key}="#{self.class.escape_attribute(value)}") }.join(" ")
    end
  end
end
