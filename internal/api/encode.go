package api

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"sync"
	"time"
)

// maxBody caps request bodies; every Platform API body is small.
const maxBody = 64 << 10

const contentType = "application/json; charset=utf-8"

// writeJSON writes v with status and no caching validators.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"id":"internal_server_error","message":"An internal error occurred."}`)
	}
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// respond writes v with status. Reads get an ETag, and a matching
// If-None-Match gets 304 with no body.
func (a *API) respond(w http.ResponseWriter, r *http.Request, status int, v any) {
	buf := buffers.Get().(*bytes.Buffer)
	defer putBuffer(buf)
	// Encode writes what Marshal would, and the newline.
	if err := json.NewEncoder(buf).Encode(v); err != nil {
		a.error(w, r, fmt.Errorf("encode response: %w", err))
		return
	}
	b := buf.Bytes()
	if r.Method == http.MethodGet {
		sum := sha256.Sum256(b)
		etag := `"` + hex.EncodeToString(sum[:16]) + `"`
		w.Header().Set("ETag", etag)
		if etagMatch(r.Header.Get("If-None-Match"), etag) {
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	w.Header()["Content-Type"] = jsonContentType
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// jsonContentType is the Content-Type header's value, shared by every
// answer rather than made for each (net/http copies it to write it).
var jsonContentType = []string{contentType}

// buffers hold answers while they are encoded.
var buffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func putBuffer(b *bytes.Buffer) {
	if b.Cap() > 64<<10 {
		return // a long list: let it go
	}
	b.Reset()
	buffers.Put(b)
}

func etagMatch(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == etag || t == "*" {
			return true
		}
	}
	return false
}

// decode reads a JSON object body into v. An empty body decodes as {}.
// Malformed JSON is bad_request; a field of the wrong type, invalid_params;
// a body over maxBody, 413.
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return &apiError{http.StatusUnsupportedMediaType, "unsupported_media_type", "Send the request body as JSON (Content-Type: application/json)."}
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return &apiError{http.StatusRequestEntityTooLarge, "request_entity_too_large", fmt.Sprintf("The request body is larger than %d bytes.", maxBody)}
		}
		return &apiError{http.StatusBadRequest, "bad_request", "The request body could not be read."}
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	if err := json.Unmarshal(body, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			field := te.Field
			if field == "" {
				field = "the request body"
			}
			return &apiError{http.StatusUnprocessableEntity, "invalid_params", fmt.Sprintf("Invalid type for %s: expected %s, got %s.", field, jsonKind(te.Type.Kind().String()), te.Value)}
		}
		return &apiError{http.StatusBadRequest, "bad_request", "The request body is not a valid JSON object."}
	}
	return nil
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "slice", "array":
		return "an array"
	case "map", "struct", "ptr":
		return "an object"
	default:
		return "a number"
	}
}

// checkAccept serves version 3: a v3 vendor type (with any variant), plain
// JSON, */* or no Accept header at all. Another version is 406.
func checkAccept(accept string) error {
	switch accept {
	case "", heroku3, "application/vnd.heroku+json; version=3.sdk", "application/json", "*/*":
		// What clients send, answered without parsing.
		return nil
	}
	for _, part := range strings.Split(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		switch mt {
		case "application/vnd.heroku+json":
			v := params["version"]
			if v == "" || v == "3" || strings.HasPrefix(v, "3.") {
				return nil
			}
		case "application/json", "*/*", "application/*":
			return nil
		}
	}
	return &apiError{http.StatusNotAcceptable, "not_acceptable", "Keyhole serves version 3 of the API: send Accept: application/vnd.heroku+json; version=3."}
}

const heroku3 = "application/vnd.heroku+json; version=3"

// timeJSON formats t as Heroku does (UTC, no fraction).
func timeJSON(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// timeOrNull returns a JSON time, or nil for the zero time.
func timeOrNull(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := timeJSON(t)
	return &s
}
