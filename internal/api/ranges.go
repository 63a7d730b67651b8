package api

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/keyhole/keyhole/internal/store"
)

// Page sizes (Heroku: default 200, at most 1000).
const (
	defaultPage = 200
	maxPage     = 1000
)

var errRange = func(msg string) error {
	return &apiError{http.StatusRequestedRangeNotSatisfiable, "requested_range_not_satisfiable", msg}
}

// parseRange reads a Range header: `<field> [[]<first>]..[<last>][; max=<n>][, order=desc]`,
// with `;` and `,` both accepted as separators and a trailing `;` tolerated.
// A `]` before first makes the start exclusive. End values are not
// supported (Heroku dropped them).
func parseRange(h string, fields []string) (store.Range, error) {
	r := store.Range{Field: fields[0], Max: defaultPage}
	h = strings.TrimSpace(h)
	if h == "" {
		return r, nil
	}
	head, opts, _ := strings.Cut(h, ";")
	if i := strings.IndexByte(head, ','); i >= 0 {
		head, opts = head[:i], head[i+1:]+";"+opts
	}
	field, span, _ := strings.Cut(strings.TrimSpace(head), " ")
	if !slices.Contains(fields, field) {
		return r, errRange(fmt.Sprintf("Range must be ordered by one of: %s.", strings.Join(fields, ", ")))
	}
	r.Field = field
	span = strings.TrimSpace(span)
	if span != "" {
		first, last, ok := strings.Cut(span, "..")
		if !ok {
			return r, errRange("Range must look like `id ]<first>..; max=200`.")
		}
		if strings.TrimSpace(last) != "" {
			return r, errRange("Ranges with an end value are not supported; use max= instead.")
		}
		first = strings.TrimSpace(first)
		if strings.HasPrefix(first, "]") {
			r.Exclusive, first = true, first[1:]
		}
		if len(first) > 256 {
			return r, errRange("Range start is too long.")
		}
		r.Start = first
	}
	for _, opt := range strings.FieldsFunc(opts, func(c rune) bool { return c == ';' || c == ',' }) {
		k, v, _ := strings.Cut(strings.TrimSpace(opt), "=")
		switch strings.TrimSpace(k) {
		case "max":
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil || n < 1 {
				return r, errRange("Range max must be a positive number.")
			}
			r.Max = min(n, maxPage)
		case "order":
			switch strings.TrimSpace(v) {
			case "asc":
				r.Desc = false
			case "desc":
				r.Desc = true
			default:
				return r, errRange("Range order must be asc or desc.")
			}
		case "":
		default:
			return r, errRange(fmt.Sprintf("Unknown Range option %q.", clip(k, 20)))
		}
	}
	return r, nil
}

// formatRange renders a Range as a header value.
func formatRange(r store.Range, first string) string {
	var b strings.Builder
	b.WriteString(r.Field)
	b.WriteByte(' ')
	if r.Exclusive {
		b.WriteByte(']')
	}
	b.WriteString(first)
	b.WriteString("..; max=")
	b.WriteString(strconv.Itoa(r.Max))
	if r.Desc {
		b.WriteString(", order=desc")
	}
	return b.String()
}

// list answers one page of a list. keys are the values of r.Field for each
// item; items holds up to r.Max+1 entries: one more than a page means more
// remain, which gets 206 and Next-Range.
func list[T any](a *API, w http.ResponseWriter, r *http.Request, rg store.Range, fields []string, items []T, key func(T) string) {
	h := w.Header()
	h.Set("Accept-Ranges", strings.Join(fields, ", "))
	status := http.StatusOK
	if len(items) > rg.Max {
		items = items[:rg.Max]
		next := store.Range{Field: rg.Field, Exclusive: true, Max: rg.Max, Desc: rg.Desc}
		h.Set("Next-Range", formatRange(next, key(items[len(items)-1])))
		status = http.StatusPartialContent
	}
	first, last := "", ""
	if len(items) > 0 {
		first, last = key(items[0]), key(items[len(items)-1])
	}
	cr := rg.Field + " " + first + ".." + last + "; max=" + strconv.Itoa(rg.Max)
	if rg.Desc {
		cr += ", order=desc"
	}
	h.Set("Content-Range", cr)
	if items == nil {
		items = []T{}
	}
	a.respond(w, r, status, items)
}
