# frozen_string_literal: true

RSpec.describe TaskerWorkerRb::HandlerRegistry do
  subject(:registry) { described_class.new }

  it "registers blocks and callables, chainably, and lists names sorted" do
    result = registry.register("double") { |n| n * 2 }.register("answer", ->(_) { 42 })
    expect(result).to be(registry)
    expect(registry.names).to eq(%w[answer double])
    expect(registry).to include("double")
    expect(registry).not_to include("triple")
  end

  it "replaces a handler registered under the same name" do
    registry.register("x") { 1 }
    registry.register("x") { 2 }
    expect(registry.run("x", nil)).to eq([true, "2"])
  end

  it "rejects a handler that is not callable" do
    expect { registry.register("x", 5) }.to raise_error(ArgumentError, /pass a callable or a block/)
  end

  it "returns the result as JSON" do
    registry.register("echo") { |input| { "got" => input } }
    expect(registry.run("echo", [1, "a", nil])).to eq([true, '{"got":[1,"a",null]}'])
  end

  it "turns an exception into its message" do
    registry.register("boom") { raise "kaboom" }
    registry.register("todo") { raise NotImplementedError, "later" }
    expect(registry.run("boom", nil)).to eq([false, "kaboom"])
    expect(registry.run("todo", nil)).to eq([false, "later"])
  end

  it "names an unknown handler and the known ones" do
    registry.register("b") { 1 }.register("a") { 1 }
    expect(registry.run("nope", nil)).to eq([false, 'no handler registered for "nope" (known: a, b)'])
  end

  it "fails a result JSON cannot encode" do
    registry.register("nan") { Float::NAN }
    ok, message = registry.run("nan", nil)
    expect(ok).to be(false)
    expect(message).to start_with('handler "nan" returned a result JSON cannot encode')
  end
end
