package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"
)

// printJSON writes v as indented JSON, as the API sent it.
func printJSON(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

// printTable writes rows under a header, each column as wide as its widest
// cell, with a rule under the header.
func printTable(w io.Writer, header []string, rows [][]string) {
	widths := make([]int, len(header))
	for i, h := range header {
		widths[i] = utf8.RuneCountInString(h)
	}
	for _, r := range rows {
		for i, c := range r {
			widths[i] = max(widths[i], utf8.RuneCountInString(c))
		}
	}
	line := func(cells []string) {
		var b strings.Builder
		for i, c := range cells {
			b.WriteString(" ")
			b.WriteString(c)
			if i < len(cells)-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c)+1))
			}
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
	line(header)
	rule := make([]string, len(header))
	for i := range header {
		rule[i] = strings.Repeat("─", widths[i])
	}
	line(rule)
	for _, r := range rows {
		line(r)
	}
}

// field is one line of a display block.
type field struct{ key, value string }

// printBlock writes "key: value" lines with the values aligned.
func printBlock(w io.Writer, fields []field) {
	width := 0
	for _, f := range fields {
		width = max(width, len(f.key))
	}
	for _, f := range fields {
		fmt.Fprintf(w, "%-*s %s\n", width+1, f.key+":", f.value)
	}
}

// timeText writes a time as the API does, in UTC.
func timeText(t time.Time) string { return t.UTC().Format(time.RFC3339) }
