# frozen_string_literal: true

require "open3"
require "rbconfig"
require "rexml/document"
require "tempfile"
require_relative "../support/junit_formatter"

RSpec.describe TaskerWorkerRb::JUnitFormatter do
  # Runs rspec on a fixture in a child process with the formatter and
  # returns [parsed XML, exit status].
  def run_fixture(name)
    Tempfile.create(["junit", ".xml"]) do |out|
      Tempfile.create(["rspec", ".opts"]) do |opts| # an empty options file: no .rspec, no spec_helper
        argv = [RbConfig.ruby, "-e", "require 'rspec/core'; exit RSpec::Core::Runner.run(ARGV)", "--",
                "--options", opts.path, "--require", "./spec/support/junit_formatter.rb",
                "--format", "TaskerWorkerRb::JUnitFormatter", "--out", out.path, "spec/fixtures/#{name}"]
        _stdout, stderr, status = Open3.capture3(*argv, chdir: SpecSupport::ROOT)
        xml = File.read(out.path)
        expect(xml).not_to be_empty, "no XML written; rspec stderr: #{stderr}"
        return [REXML::Document.new(xml), status]
      end
    end
  end

  def attrs(element, *names)
    element.attributes.each_attribute.to_h { |a| [a.name, a.value] }.slice(*names)
  end

  def testcase(doc, name)
    REXML::XPath.first(doc, "//testcase[@name=$name]", nil, { "name" => name }) ||
      raise("no testcase #{name.inspect}")
  end

  describe "a run with passing, failing, skipped and pending examples" do
    before(:context) { @doc, @status = run_fixture("junit_sample.rb") }

    let(:suite) { @doc.root }

    it "fails the run and counts every kind of result" do
      expect(@status.exitstatus).to eq(1)
      expect(suite.name).to eq("testsuite")
      expect(attrs(suite, "tests", "failures", "errors", "skipped"))
        .to eq("tests" => "5", "failures" => "2", "errors" => "0", "skipped" => "2")
      expect(Float(suite.attributes["time"])).to be >= 0
      expect(REXML::XPath.match(suite, "testcase").size).to eq(5)
    end

    it "names each testcase by file and full description" do
      passed = testcase(@doc, "JUnit sample passes")
      expect(passed.attributes["classname"]).to eq("spec.fixtures.junit_sample")
      expect(passed.attributes["file"]).to eq("./spec/fixtures/junit_sample.rb")
      expect(Float(passed.attributes["time"])).to be >= 0
      expect(passed.elements.to_a).to be_empty
    end

    it "reports a failed expectation with its escaped message and the backtrace" do
      failed = testcase(@doc, %(JUnit sample fails with <markup> & "quotes"))
      failure = failed.elements["failure"]
      expect(failure.attributes["type"]).to eq("RSpec::Expectations::ExpectationNotMetError")
      expect(failure.attributes["message"]).to include(%(expected: "other"))
      # RSpec shows U+0001 as \u0001 (inspect); the markup survives escaping.
      expect(failure.attributes["message"]).to include(%(got: "a\\u0001b <&> 'q'"))
      expect(failure.text).to include("Backtrace:", "spec/fixtures/junit_sample.rb:")
    end

    it "reports a raised error as a failure, without control characters" do
      failure = testcase(@doc, "JUnit sample raises an error").elements["failure"]
      expect(failure.attributes["type"]).to eq("ArgumentError")
      expect(failure.attributes["message"]).to eq("bad \uFFFD[31mred\uFFFD[0m")
    end

    it "marks skipped and pending examples as skipped, with the reason" do
      skipped = testcase(@doc, "JUnit sample is skipped").elements["skipped"]
      expect(skipped.attributes["message"]).to eq("not today <really>")
      pending = testcase(@doc, "JUnit sample is pending").elements["skipped"]
      expect(pending.attributes["message"]).to eq("waiting & seeing")
    end
  end

  describe "a spec file that does not load" do
    it "counts an error and reports it as a testcase" do
      doc, status = run_fixture("junit_broken.rb")
      expect(status.exitstatus).not_to eq(0)
      expect(attrs(doc.root, "tests", "failures", "errors", "skipped"))
        .to eq("tests" => "1", "failures" => "0", "errors" => "1", "skipped" => "0")
      error = REXML::XPath.first(doc, "//testcase/error")
      expect(error.attributes["message"]).to eq("1 error(s) occurred outside of examples")
      expect(error.text).to include("this spec file cannot load")
    end
  end

  describe ".escape / .escape_attribute" do
    it "escapes markup and replaces characters XML cannot hold" do
      expect(described_class.escape(%(<a href="x">&'</a>))).to eq("&lt;a href=&quot;x&quot;&gt;&amp;&apos;&lt;/a&gt;")
      expect(described_class.escape("ok\tline\nnext\u0000\e")).to eq("ok\tline\nnext\uFFFD\uFFFD")
      expect(described_class.escape("\xFFbad".b)).to eq("\uFFFDbad")
      expect(described_class.escape_attribute("a\nb\tc\"")).to eq("a&#10;b&#9;c&quot;")
    end

    it "round-trips through an XML parser" do
      text = "multi\nline <tag> & \"quote\" 'apos' ünïcödé"
      doc = REXML::Document.new(%(<x a="#{described_class.escape_attribute(text)}">#{described_class.escape(text)}</x>))
      expect(doc.root.attributes["a"]).to eq(text)
      expect(doc.root.text).to eq(text)
    end
  end
end
