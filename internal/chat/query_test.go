package chat

import (
	"net/url"
	"testing"
	"time"
)

func TestParseListRequest(t *testing.T) {
	tests := []struct {
		query string
		want  ListRequest
		bad   string // the field that must be reported
	}{
		{"", ListRequest{Query: MessageQuery{Limit: 100}}, ""},
		{"limit=5", ListRequest{Query: MessageQuery{Limit: 5}}, ""},
		{"begin=undefined", ListRequest{Query: MessageQuery{Limit: 100, HasSince: true}}, ""},
		{"begin=1700000000", ListRequest{Query: MessageQuery{Limit: 100, HasSince: true, Since: 1700000000}}, ""},
		{"after=0&wait=30", ListRequest{Query: MessageQuery{Limit: 100, HasAfter: true}, Wait: 30 * time.Second}, ""},
		{"before=9&limit=2", ListRequest{Query: MessageQuery{Limit: 2, BeforeID: 9}}, ""},
		{"limit=0", ListRequest{}, "limit"},
		{"limit=1001", ListRequest{}, "limit"},
		{"after=x", ListRequest{}, "after"},
		{"before=-3", ListRequest{}, "before"},
		{"wait=61&after=1", ListRequest{}, "wait"},
		{"wait=3", ListRequest{}, "wait"},
	}
	for _, tt := range tests {
		params, _ := url.ParseQuery(tt.query)
		got, err := ParseListRequest(params)
		if tt.bad != "" {
			v, ok := err.(*ValidationError)
			if !ok || len(v.Fields[tt.bad]) == 0 {
				t.Errorf("%q: err = %v, want a field error for %s", tt.query, err, tt.bad)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%q: got %+v, %v; want %+v", tt.query, got, err, tt.want)
		}
	}
}

func TestParseListRequestReportsEveryField(t *testing.T) {
	_, err := ParseListRequest(url.Values{"limit": {"0"}, "after": {"x"}})
	v, _ := err.(*ValidationError)
	if v == nil || len(v.Fields) != 2 {
		t.Errorf("err = %v, want both limit and after reported", err)
	}
}

func TestParseID(t *testing.T) {
	for _, s := range []string{"0", "-1", "abc", "", "1.5", "99999999999999999999"} {
		if _, err := ParseID(s); err != ErrNotFound {
			t.Errorf("ParseID(%q) err = %v, want ErrNotFound", s, err)
		}
	}
	if id, err := ParseID("42"); id != 42 || err != nil {
		t.Errorf("ParseID(42) = %d, %v", id, err)
	}
}
