# frozen_string_literal: true

# Spec kinds, tagged by directory:
# - spec/unit: pure Ruby, no native extension, no database;
# - spec/ffi (:ffi): load the built native extension and call into Rust,
#   no database needed;
# - spec/integration (:integration): need DATABASE_URL (a migrated
#   database) and are skipped, with the reason, when it is unset.
#
#   bundle exec rspec --tag ~integration    # unit + FFI
#   bundle exec rspec --tag ffi             # FFI only
#   bundle exec rspec --tag integration     # integration (DATABASE_URL)

$LOAD_PATH.unshift(File.expand_path("../lib", __dir__))
require "tasker_worker_rb"

module SpecSupport
  ROOT = File.expand_path("..", __dir__)
  # A database nothing listens on (connection refused at once).
  DOWN_URL = "postgresql://nobody:s3cret@127.0.0.1:1/none"

  module_function

  def database_url
    url = ENV.fetch("DATABASE_URL", "")
    url.strip.empty? ? nil : url
  end

  # A namespace no other run uses: ruby_it_<pid>_<n>.
  def unique_namespace(kind = "it")
    @namespace_counter = (@namespace_counter || 0) + 1
    "ruby_#{kind}_#{Process.pid}_#{@namespace_counter}"
  end

  # A TCP port that was free a moment ago.
  def free_port
    require "socket"
    server = TCPServer.new("127.0.0.1", 0)
    server.addr[1]
  ensure
    server&.close
  end
end

RSpec.configure do |config|
  config.define_derived_metadata(file_path: %r{/spec/ffi/}) { |meta| meta[:ffi] = true }
  config.define_derived_metadata(file_path: %r{/spec/integration/}) { |meta| meta[:integration] = true }

  config.before(:context, :ffi) { TaskerWorkerRb.load_native }
  config.before(:context, :integration) { TaskerWorkerRb.load_native if SpecSupport.database_url }
  config.before(:each, :integration) do
    unless SpecSupport.database_url
      skip "DATABASE_URL is not set: integration specs need a migrated database " \
           "(go tool mage db:setup, then export DATABASE_URL)"
    end
  end

  config.expect_with(:rspec) { |c| c.syntax = :expect }
  config.mock_with(:rspec) { |m| m.verify_partial_doubles = true }
  config.disable_monkey_patching!
  config.warnings = true
  config.order = :random
  Kernel.srand(config.seed)
end
