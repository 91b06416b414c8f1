package env

import (
	"fmt"
	"io"
	"text/tabwriter"
)

// Print writes the table `mage env` shows: KEY, VALUE (redacted) and SOURCE
// for every Known variable, then for any other variable set in .env or
// .env.local.
func Print(w io.Writer, e *Env) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "KEY\tVALUE\tSOURCE")
	redact := e.Redactor()
	row := func(v Var) {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", v.Key, displayValue(v, redact), v.Source)
	}
	for _, v := range e.Documented() {
		row(v)
	}
	for _, k := range e.fileKeys {
		if _, known := doc(k); !known {
			v, _ := e.Lookup(k)
			row(v)
		}
	}
	tw.Flush()
}

// displayValue is v's value as Print shows it: secrets masked, passwords in
// URLs redacted, and for unset variables the default their consumer assumes.
func displayValue(v Var, redact func(string) string) string {
	switch {
	case v.Source == SourceUnset:
		if d, _ := doc(v.Key); d.Default != "" {
			return "(default " + redact(d.Default) + ")"
		}
		return "-"
	case v.Value == "":
		return `""`
	case IsSecret(v.Key):
		return Mask
	}
	return redact(v.Value)
}
