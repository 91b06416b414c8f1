# frozen_string_literal: true

RSpec.describe TaskerWorkerRb::Handlers do
  describe ".sum" do
    it "adds an array or {numbers: [...]}, keeping integers integers" do
      expect(described_class.sum([1, 2, 3])).to eq("sum" => 6)
      expect(described_class.sum([1, 2]).fetch("sum")).to be_an(Integer)
      expect(described_class.sum("numbers" => [1, 2])).to eq("sum" => 3)
      expect(described_class.sum("numbers" => [])).to eq("sum" => 0)
      expect(described_class.sum([-4, 4])).to eq("sum" => 0)
    end

    it "returns a float when any number is a float" do
      result = described_class.sum("numbers" => [1, 2.5])
      expect(result).to eq("sum" => 3.5)
      expect(described_class.sum([1.0, 2.0]).fetch("sum")).to be_a(Float)
    end

    it "falls back to a float when the sum leaves the 64-bit range (like the Rust worker)" do
      max = (2**63) - 1
      expect(described_class.sum([max, 1])).to eq("sum" => max.to_f + 1.0)
      expect(described_class.sum([max, 1]).fetch("sum")).to be_a(Float)
      expect(described_class.sum([max, 0])).to eq("sum" => max)
      expect(described_class.sum([2**64]).fetch("sum")).to be_a(Float)
    end

    it "names the element that is not a number" do
      expect { described_class.sum([1, "2"]) }
        .to raise_error(TaskerWorkerRb::HandlerError, 'sum: element 1 is not a number: "2"')
      expect { described_class.sum([true]) }
        .to raise_error(TaskerWorkerRb::HandlerError, "sum: element 0 is not a number: true")
    end

    it "rejects other input shapes" do
      message = 'sum: expected {"numbers": [...]} or an array of numbers'
      expect { described_class.sum("nums" => [1]) }.to raise_error(TaskerWorkerRb::HandlerError, message)
      expect { described_class.sum(5) }.to raise_error(TaskerWorkerRb::HandlerError, message)
      expect { described_class.sum(nil) }.to raise_error(TaskerWorkerRb::HandlerError, message)
    end
  end

  describe ".reverse" do
    it "reverses a string or {text: ...} by characters" do
      expect(described_class.reverse("abc")).to eq("reversed" => "cba")
      expect(described_class.reverse("text" => "héllo")).to eq("reversed" => "olléh")
      expect(described_class.reverse("")).to eq("reversed" => "")
    end

    it "rejects other input shapes" do
      message = 'reverse: expected {"text": "..."} or a string'
      expect { described_class.reverse("text" => 1) }.to raise_error(TaskerWorkerRb::HandlerError, message)
      expect { described_class.reverse(nil) }.to raise_error(TaskerWorkerRb::HandlerError, message)
      expect { described_class.reverse(%w[a b]) }.to raise_error(TaskerWorkerRb::HandlerError, message)
    end
  end

  describe ".fail" do
    it "always fails, with the given message if any" do
      expect { described_class.fail("message" => "nope") }.to raise_error(TaskerWorkerRb::HandlerError, "nope")
      default = "fail: this handler always fails"
      expect { described_class.fail(nil) }.to raise_error(TaskerWorkerRb::HandlerError, default)
      expect { described_class.fail("message" => 42) }.to raise_error(TaskerWorkerRb::HandlerError, default)
      expect { described_class.fail(["message"]) }.to raise_error(TaskerWorkerRb::HandlerError, default)
    end
  end

  describe ".registry" do
    it "serves sum, reverse and fail" do
      registry = described_class.registry
      expect(registry.names).to eq(%w[fail reverse sum])
      expect(registry.run("sum", [2, 2])).to eq([true, '{"sum":4}'])
      expect(registry.run("reverse", { "text" => "ab" })).to eq([true, '{"reversed":"ba"}'])
      expect(registry.run("fail", { "message" => "custom" })).to eq([false, "custom"])
    end
  end
end
