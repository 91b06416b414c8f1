package toolchain

import (
	"encoding/json"
	"os"
	"path/filepath"
	"time"
)

// Receipt records where an installed tool came from, for `mage doctor` and
// to notice a prebuilt binary of another version than the pinned one.
type Receipt struct {
	Version   string    `json:"version,omitempty"`
	From      string    `json:"from"`
	Installed time.Time `json:"installed"`
}

func (in *Installer) receiptPath(t Tool) string {
	return filepath.Join(in.Dir, "receipts", t.Name+".json")
}

// receipt is t's receipt (the zero Receipt when there is none).
func (in *Installer) receipt(t Tool) Receipt {
	var rc Receipt
	if b, err := os.ReadFile(in.receiptPath(t)); err == nil {
		_ = json.Unmarshal(b, &rc)
	}
	return rc
}

func (in *Installer) saveReceipt(t Tool, rc Receipt) error {
	rc.Installed = time.Now().UTC().Truncate(time.Second)
	b, err := json.Marshal(rc)
	if err != nil {
		return err
	}
	p := in.receiptPath(t)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, p)
}

// Origin says where the tool found at path came from: the receipt of the
// build system's own install, else the directory it was found in.
func (in *Installer) Origin(t Tool, path string) string {
	if rc := in.receipt(t); rc.From != "" {
		return rc.From
	}
	if path == "" {
		return ""
	}
	return "found in " + filepath.Dir(path)
}
