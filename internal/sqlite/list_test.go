package sqlite

import (
	"path/filepath"
	"strings"
	"testing"

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
		t.Run(name, func(t *testing.T) {
			query, args := listQuery(q)
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
		})
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
