# frozen_string_literal: true

require_relative "lib/tasker_worker_rb/version"

Gem::Specification.new do |spec|
  spec.name = "tasker_worker_rb"
  spec.version = TaskerWorkerRb::VERSION
  spec.authors = ["Tasker"]
  spec.summary = "Tasker worker for the ruby namespace (Rust core via magnus)"
  spec.description = "Claims steps from ruby_queue, runs Ruby handlers and reports results through the " \
                     "Tasker Rust worker core, loaded as a native extension."
  spec.license = "MIT"
  spec.required_ruby_version = ">= 3.1"

  spec.files = Dir["lib/**/*.rb", "bin/*", "ext/**/*.{rs,toml}"]
  # bin/tasker-worker-rb is run from the checkout, not installed: declaring
  # it as an executable would make `bundle install` write a binstub into the
  # system gem bin directory.
  spec.executables = []
  spec.require_paths = ["lib"]
  spec.metadata["rubygems_mfa_required"] = "true"
end
