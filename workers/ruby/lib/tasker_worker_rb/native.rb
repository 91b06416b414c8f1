# frozen_string_literal: true

require "rbconfig"
require_relative "errors"

# Loads TaskerWorkerRb::Native, the Rust core (see
# ext/tasker_worker_rb/src/lib.rs), with a clear message when it is not built.
module TaskerWorkerRb
  # Where the build puts the native extension (the cdylib built by
  # `cargo build -p tasker-worker-ruby`, copied from
  # target/<profile>/libtasker_worker_rb.so, or .dylib on macOS, where
  # Ruby loads extensions named .bundle).
  NATIVE_PATH = File.expand_path("tasker_worker_rb.#{RbConfig::CONFIG["DLEXT"]}", __dir__)

  begin
    require_relative "tasker_worker_rb"
  rescue LoadError => e
    raise LoadError, "cannot load the native extension (#{e.message}): build it with " \
                     "`cargo build -p tasker-worker-ruby` and copy target/debug/libtasker_worker_rb.{so,dylib} " \
                     "to #{NATIVE_PATH}"
  end
end
