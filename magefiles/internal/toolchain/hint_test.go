package toolchain

import "testing"

func TestHintFor(t *testing.T) {
	system := Hint{Apt: "sudo apt install ruby", Brew: "brew install ruby"}
	cases := []struct {
		name   string
		hint   Hint
		goos   string
		hasApt bool
		want   string
	}{
		{"registry beats apt", Hint{Cargo: "cargo install x", Apt: "sudo apt install x"}, "linux", true, "cargo install x"},
		{"registry beats brew", Hint{Npm: "npm install -g x", Brew: "brew install x"}, "darwin", false, "npm install -g x"},
		{"several registries", Hint{Pip: "pip install x", Npm: "npm install -g x"}, "linux", true, "pip install x or npm install -g x"},
		{"rustup first", Hint{Cargo: "cargo install x", Rustup: "rustup component add x"}, "linux", true, "rustup component add x or cargo install x"},
		{"apt on debian", system, "linux", true, "sudo apt install ruby"},
		{"brew on darwin", system, "darwin", false, "brew install ruby"},
		{"other is an alternative", Hint{Apt: "sudo apt install bundler", Other: "gem install bundler"}, "linux", true, "sudo apt install bundler or gem install bundler"},
		{"only other on darwin", Hint{Apt: "sudo apt install bundler", Other: "gem install bundler"}, "darwin", false, "gem install bundler"},
		{"no fit: offer all", system, "linux", false, "sudo apt install ruby or brew install ruby"},
		{"nothing", Hint{}, "linux", true, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := c.hint.For(c.goos, c.hasApt); got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}

func TestHintInstallQuotesEachCommand(t *testing.T) {
	h := Hint{Pip: "pip install x", Npm: "npm install -g x"}
	if got, want := h.Install(), "`pip install x` or `npm install -g x`"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
