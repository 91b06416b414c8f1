# frozen_string_literal: true

# The same cases as tasker_shared::config::redact_url (Rust).
RSpec.describe TaskerWorkerRb::Redact do
  def redact(url)
    described_class.url(url)
  end

  it "hides the password of a URL" do
    expect(redact("postgresql://tasker:s3cret@db:5432/tasker")).to eq("postgresql://tasker:***@db:5432/tasker")
    expect(redact("postgresql://tasker:tasker@localhost:5432/tasker_rust_test"))
      .to eq("postgresql://tasker:***@localhost:5432/tasker_rust_test")
  end

  it "handles @ and / inside the password" do
    expect(redact("postgresql://u:p@ss/w@rd@db/x")).to eq("postgresql://u:***@db/x")
  end

  it "leaves URLs without a password alone" do
    expect(redact("postgresql://db/tasker")).to eq("postgresql://db/tasker")
    expect(redact("postgresql://tasker@db/tasker")).to eq("postgresql://tasker@db/tasker")
    expect(redact("postgresql://db/tasker?sslmode=require")).to eq("postgresql://db/tasker?sslmode=require")
  end

  it "does not take an @ in the query string for userinfo" do
    expect(redact("postgresql://db/x?application_name=a@b")).to eq("postgresql://db/x?application_name=a@b")
  end

  it "hides password= query parameters, case-insensitively" do
    expect(redact("postgresql://u@db/x?sslmode=require&password=s3cret&a=b"))
      .to eq("postgresql://u@db/x?sslmode=require&password=***&a=b")
    expect(redact("postgresql://db/x?PASSWORD=s3cret")).to eq("postgresql://db/x?PASSWORD=***")
  end

  it "hides passwords in the key/value form, quoted or not" do
    expect(redact("host=db password=s3cret")).to eq("host=db password=***")
    expect(redact("host=db password='with space' user=u")).to eq("host=db password=*** user=u")
    expect(redact("password=x")).to eq("password=***")
  end

  it "leaves keys that only end in password= alone" do
    expect(redact("host=db mypassword=visible")).to eq("host=db mypassword=visible")
    expect(redact("host=db password=")).to eq("host=db password=")
  end

  it "never leaks the secret of a full URL" do
    redacted = redact("postgres://admin:hunter2@10.0.0.1:5432/db?password=hunter2")
    expect(redacted).not_to include("hunter2")
  end
end
