package sqlite

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"chatd/internal/chat"
)

// TestListQueryPlans checks that every form of the list query seeks into the
// primary key or the (created, id) index and reads in that order, so LIMIT
// stops it after Limit rows: no full scan of messages, no sort of all rows.
func TestListQueryPlans(t *testing.T) {
	s := openTest(t, filepath.Join(t.TempDir(), "chat.db"), Options{})
	queries := map[string]chat.MessageQuery{
		"newest":               {Limit: 100},
		"before":               {Limit: 100, BeforeID: 50},
		"after":                {Limit: 100, HasAfter: true, AfterID: 10},
		"after and before":     {Limit: 100, HasAfter: true, AfterID: 10, BeforeID: 50},
		"since":                {Limit: 100, HasSince: true, Since: 1000},
		"since and after":      {Limit: 100, HasSince: true, Since: 1000, HasAfter: true, AfterID: 10},
		"since, after, before": {Limit: 100, HasSince: true, Since: 1000, HasAfter: true, AfterID: 10, BeforeID: 50},
	}
	for name, q := range queries {
		for _, byID := range []bool{false, true} {
			if (!q.Forward() && byID) || (q.Forward() && q.HasAfter != q.HasSince && byID != q.HasAfter) {
				continue // byID matters only to forward reads with both cursors
			}
			t.Run(fmt.Sprintf("%s, by id %t", name, byID), func(t *testing.T) {
				checkPlan(t, s, q, byID)
			})
		}
	}
}

func TestCursorCreatedQueryPlan(t *testing.T) {
	s := openTest(t, filepath.Join(t.TempDir(), "chat.db"), Options{})
	plan := queryPlan(t, s, cursorCreatedQuery, []any{10})
	if len(plan) != 1 || !strings.HasPrefix(plan[0], "SEARCH m USING INTEGER PRIMARY KEY") {
		t.Errorf("plan of the cursor probe: got %q, want one SEARCH through the primary key", plan)
	}
}

func checkPlan(t *testing.T, s *Store, q chat.MessageQuery, byID bool) {
	t.Helper()
	query, args := listQuery(q, byID)
	plan := queryPlan(t, s, query, args)
	for _, step := range plan {
		if strings.HasPrefix(step, "SCAN") || strings.Contains(step, "TEMP B-TREE") {
			t.Errorf("plan step %q: want every table read by SEARCH in index order; plan:\n%s",
				step, strings.Join(plan, "\n"))
		}
	}
	if !strings.HasPrefix(plan[0], "SEARCH m USING") {
		t.Errorf("first step %q: want a SEARCH of messages through an index", plan[0])
	}
}

func queryPlan(t *testing.T, s *Store, query string, args []any) []string {
	t.Helper()
	rows, err := s.reader.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		t.Fatalf("EXPLAIN QUERY PLAN: %v", err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatalf("scan plan: %v", err)
		}
		plan = append(plan, detail)
	}
	if err := rows.Err(); err != nil || len(plan) == 0 {
		t.Fatalf("EXPLAIN QUERY PLAN: got %d steps, error %v", len(plan), err)
	}
	return plan
}

// TestReadByID: with both cursors, a forward read follows whichever lies
// further along, so it never passes over the messages between them.
func TestReadByID(t *testing.T) {
	s := openTest(t, filepath.Join(t.TempDir(), "chat.db"), Options{})
	u, err := s.CreateUser(t.Context(), chat.NewUser{Login: "r", LoginKey: "r", PasswordHash: "h"})
	if err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	var ids []int64
	for i := range 10 {
		m, err := s.CreateMessage(t.Context(), chat.NewMessage{UserID: u.ID, Text: "m", Created: time.Unix(int64(100*(i+1)), 0)})
		if err != nil {
			t.Fatalf("CreateMessage: %v", err)
		}
		ids = append(ids, m.ID)
	}
	for _, tc := range []struct {
		name string
		q    chat.MessageQuery
		want bool
	}{
		{"after only", chat.MessageQuery{HasAfter: true, AfterID: ids[2]}, true},
		{"since only", chat.MessageQuery{HasSince: true, Since: 300}, false},
		{"after further", chat.MessageQuery{HasAfter: true, AfterID: ids[8], HasSince: true, Since: 150}, true},
		{"since further", chat.MessageQuery{HasAfter: true, AfterID: ids[1], HasSince: true, Since: 850}, false},
		{"same place", chat.MessageQuery{HasAfter: true, AfterID: ids[4], HasSince: true, Since: 500}, false},
		{"after before the first", chat.MessageQuery{HasAfter: true, AfterID: 0, HasSince: true, Since: 150}, false},
	} {
		var got bool
		err := s.read(t.Context(), func(tx *sql.Tx) error {
			var err error
			got, err = readByID(t.Context(), tx, tc.q)
			return err
		})
		if err != nil || got != tc.want {
			t.Errorf("%s: readByID got %t (error %v), want %t", tc.name, got, err, tc.want)
		}
	}
}
