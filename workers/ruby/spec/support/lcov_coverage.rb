# frozen_string_literal: true

# Line coverage as lcov with Ruby's own Coverage module: no gem needed
# (RubyGems is not reachable, and a coverage gem would have to be in the
# Gemfile for `bundle exec` to load it). `mage ruby:coverage` loads this
# file first in every Ruby process of the run, through RUBYOPT:
#
#   TASKER_RUBY_COVERAGE_DIR=/tmp/cov RUBYOPT=-r$PWD/spec/support/lcov_coverage.rb \
#     bundle exec rspec --tag ~integration
#
# Each process (rspec, and the worker processes specs spawn) writes
# <dir>/<pid>.lcov at exit for the files under lib/; the build
# system merges them. Without TASKER_RUBY_COVERAGE_DIR it does nothing.
module TaskerWorkerRb
  module LcovCoverage
    LIB = File.join(File.expand_path("../..", __dir__), "lib", "")

    module_function

    # The lcov text for a Coverage.result: one record per file under lib/.
    def lcov(result)
      result.sort.filter_map { |path, data| record(path, data[:lines]) if path.start_with?(LIB) }.join
    end

    # One file's record: DA:<line>,<hits> for each line Ruby counts as
    # executable (nil entries are not), then the totals.
    def record(path, lines)
      executable = lines.each_with_index.reject { |count, _| count.nil? }
      da = executable.map { |count, index| "DA:#{index + 1},#{count}\n" }.join
      hit = executable.count { |count, _| count.positive? }
      "SF:#{path}\n#{da}LF:#{executable.size}\nLH:#{hit}\nend_of_record\n"
    end

    def start(dir)
      require "coverage"
      Coverage.start(lines: true)
      at_exit do
        text = lcov(Coverage.result)
        File.write(File.join(dir, "#{Process.pid}.lcov"), text) unless text.empty?
      end
    end
  end
end

dir = ENV.fetch("TASKER_RUBY_COVERAGE_DIR", "")
TaskerWorkerRb::LcovCoverage.start(dir) unless dir.empty?
