package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"

	"chatd/internal/avatar"
	"chatd/internal/chat"
)

// Body limits. Text endpoints take a few small fields. A form with a file is
// allowed twice the largest avatar, so that a somewhat too large image gets
// the contract's 400 field error; only the avatar's limit plus one byte is
// ever kept in memory, the rest is discarded as it streams by.
const (
	maxTextBody  = 64 << 10
	maxFieldSize = 16 << 10
	maxFileBody  = 2*avatar.MaxBytes + maxTextBody
	maxParts     = 16
)

// form is a decoded FormData, urlencoded or JSON body.
type form struct {
	values map[string]string
	// image is the "image" file's bytes; nil when no file was sent.
	image []byte
}

func (f form) get(name string) string { return f.values[name] }

// decodeForm reads r's body in any of the accepted encodings. withFile allows
// a multipart "image" file (and not JSON, which cannot carry one). Bodies
// larger than the limit are refused before they are read.
func decodeForm(w http.ResponseWriter, r *http.Request, withFile bool) (form, error) {
	limit := int64(maxTextBody)
	if withFile {
		limit = maxFileBody
	}
	if r.ContentLength > limit {
		return form{}, &http.MaxBytesError{Limit: limit}
	}
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	mediaType, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch {
	case mediaType == "multipart/form-data":
		return decodeMultipart(r, params["boundary"], withFile)
	case mediaType == "application/x-www-form-urlencoded":
		return decodeURLEncoded(r)
	case mediaType == "application/json" && !withFile:
		return decodeJSON(r)
	case r.ContentLength == 0 && mediaType == "":
		return form{values: map[string]string{}}, nil
	}
	accepted := "multipart/form-data, application/x-www-form-urlencoded or application/json"
	if withFile {
		accepted = "multipart/form-data or application/x-www-form-urlencoded"
	}
	return form{}, bodyError("must be " + accepted)
}

// bodyError reports a body that cannot be read as a form at all.
func bodyError(message string) error {
	v := &chat.ValidationError{}
	v.Add("body", message)
	return v
}

// readErr passes a too-large body through as is and reports anything else as
// a malformed body.
func readErr(err error, what string) error {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return err
	}
	return bodyError("is not valid " + what)
}

func decodeURLEncoded(r *http.Request) (form, error) {
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		return form{}, readErr(err, "urlencoded data")
	}
	vals, err := url.ParseQuery(string(raw))
	if err != nil {
		return form{}, bodyError("is not valid urlencoded data")
	}
	f := form{values: make(map[string]string, len(vals))}
	for k := range vals {
		f.values[k] = vals.Get(k)
	}
	return f, nil
}

func decodeJSON(r *http.Request) (form, error) {
	var raw map[string]json.RawMessage
	dec := json.NewDecoder(r.Body)
	if err := dec.Decode(&raw); err != nil {
		return form{}, readErr(err, "JSON object")
	}
	// One object is the whole body: anything after it is malformed.
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return form{}, readErr(err, "JSON object")
	}
	f := form{values: make(map[string]string, len(raw))}
	v := &chat.ValidationError{}
	for k, msg := range raw {
		var s string
		if err := json.Unmarshal(msg, &s); err != nil {
			v.Add(k, "must be a string")
			continue
		}
		f.values[k] = s
	}
	return f, v.Err()
}

// decodeMultipart streams the parts: text fields and the file are each read
// with their own limit, so nothing is buffered beyond them and nothing goes
// to temporary files.
func decodeMultipart(r *http.Request, boundary string, withFile bool) (form, error) {
	if boundary == "" {
		return form{}, bodyError("is not valid multipart data: no boundary")
	}
	mr := multipart.NewReader(r.Body, boundary)
	f := form{values: map[string]string{}}
	for i := 0; ; i++ {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return f, nil
		}
		if err != nil {
			return form{}, readErr(err, "multipart data")
		}
		if i >= maxParts {
			return form{}, bodyError(fmt.Sprintf("must have at most %d parts", maxParts))
		}
		if err := readPart(&f, part, withFile); err != nil {
			return form{}, err
		}
	}
}

func readPart(f *form, part *multipart.Part, withFile bool) error {
	defer part.Close()
	name := part.FormName()
	if name == "image" && withFile && part.FileName() != "" {
		// One byte past the limit is enough for the avatar rules to refuse it
		// alongside every other bad field.
		data, err := io.ReadAll(io.LimitReader(part, avatar.MaxBytes+1))
		if err != nil {
			return readErr(err, "multipart data")
		}
		f.image = data
		return nil
	}
	data, err := io.ReadAll(io.LimitReader(part, maxFieldSize+1))
	if err != nil {
		return readErr(err, "multipart data")
	}
	if len(data) > maxFieldSize {
		v := &chat.ValidationError{}
		v.Add(name, "is too long")
		return v
	}
	f.values[name] = string(data)
	return nil
}

// encode writes v as JSON with status.
func encode(w http.ResponseWriter, r *http.Request, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	if r.Method == http.MethodHead {
		return
	}
	if err := json.NewEncoder(w).Encode(v); err != nil {
		logger(r).DebugContext(r.Context(), "write response", "error", err)
	}
}
