package storetest

import (
	"fmt"
	"testing"

	"chatd/internal/chat"
)

func listCases() []testCase {
	return []testCase{
		{"ListMessages/Queries", testListQueries},
		{"ListMessages/EditsAndDeletes", testListEditsAndDeletes},
		{"ListMessages/Empty", testListEmpty},
	}
}

// listFixture creates ten messages by two users, created in pairs at
// at(10), at(10), at(20), at(20) ... at(50), and returns them in id order.
func listFixture(t *testing.T, s chat.Store) []chat.Message {
	t.Helper()
	users := []chat.User{createUser(t, s, "Lister"), createUser(t, s, "poster")}
	var msgs []chat.Message
	for i := range 10 {
		created := at(10 * (i/2 + 1))
		msgs = append(msgs, createMessage(t, s, users[i%2].ID, fmt.Sprintf("message %d", i), created))
	}
	return msgs
}

func testListQueries(t *testing.T, s chat.Store) {
	m := listFixture(t, s)
	id := func(i int) int64 { return m[i].ID }
	since := func(sec int) int64 { return at(sec).Unix() }
	tests := []struct {
		name string
		q    chat.MessageQuery
		want []int // indexes into m
	}{
		{"newest limit", chat.MessageQuery{Limit: 3}, []int{7, 8, 9}},
		{"newest all", chat.MessageQuery{Limit: 100}, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}},
		{"newest one", chat.MessageQuery{Limit: 1}, []int{9}},
		{"before", chat.MessageQuery{Limit: 3, BeforeID: id(5)}, []int{2, 3, 4}},
		{"before near start", chat.MessageQuery{Limit: 3, BeforeID: id(1)}, []int{0}},
		{"before first", chat.MessageQuery{Limit: 3, BeforeID: id(0)}, nil},
		{"before past end", chat.MessageQuery{Limit: 2, BeforeID: id(9) + 100}, []int{8, 9}},
		{"after 0", chat.MessageQuery{Limit: 3, HasAfter: true}, []int{0, 1, 2}},
		{"after 0 all", chat.MessageQuery{Limit: 1000, HasAfter: true}, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}},
		{"after id", chat.MessageQuery{Limit: 3, HasAfter: true, AfterID: id(3)}, []int{4, 5, 6}},
		{"after id to end", chat.MessageQuery{Limit: 10, HasAfter: true, AfterID: id(7)}, []int{8, 9}},
		{"after last", chat.MessageQuery{Limit: 10, HasAfter: true, AfterID: id(9)}, nil},
		{"since 0", chat.MessageQuery{Limit: 4, HasSince: true}, []int{0, 1, 2, 3}},
		{"since is strict", chat.MessageQuery{Limit: 3, HasSince: true, Since: since(20)}, []int{4, 5, 6}},
		{"since between", chat.MessageQuery{Limit: 100, HasSince: true, Since: since(25)}, []int{4, 5, 6, 7, 8, 9}},
		{"since newest", chat.MessageQuery{Limit: 100, HasSince: true, Since: since(50)}, nil},
		{"after and before", chat.MessageQuery{Limit: 10, HasAfter: true, AfterID: id(1), BeforeID: id(5)}, []int{2, 3, 4}},
		{"after and before, limit", chat.MessageQuery{Limit: 2, HasAfter: true, AfterID: id(1), BeforeID: id(5)}, []int{2, 3}},
		{"since and after, after wins", chat.MessageQuery{Limit: 10, HasSince: true, Since: since(10), HasAfter: true, AfterID: id(4)}, []int{5, 6, 7, 8, 9}},
		{"since and after, since wins", chat.MessageQuery{Limit: 2, HasSince: true, Since: since(30), HasAfter: true, AfterID: id(1)}, []int{6, 7}},
		{"since and before", chat.MessageQuery{Limit: 10, HasSince: true, Since: since(10), BeforeID: id(6)}, []int{2, 3, 4, 5}},
		{"since, after and before", chat.MessageQuery{Limit: 3, HasSince: true, Since: since(10), HasAfter: true, AfterID: id(3), BeforeID: id(8)}, []int{4, 5, 6}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var want []chat.Message
			for _, i := range tc.want {
				want = append(want, m[i])
			}
			wantList(t, s, tc.q, want)
		})
	}
}

// wantList checks that ListMessages(q) returns exactly want, in order.
func wantList(t *testing.T, s chat.Store, q chat.MessageQuery, want []chat.Message) {
	t.Helper()
	got, err := s.ListMessages(ctx(t), q)
	if err != nil {
		t.Fatalf("ListMessages(%+v): %v", q, err)
	}
	if len(got) != len(want) {
		t.Fatalf("ListMessages(%+v): got ids %v, want %v", q, ids(got), ids(want))
	}
	for i := range got {
		wantMessage(t, fmt.Sprintf("ListMessages(%+v)[%d]", q, i), got[i], want[i])
	}
}

func ids(msgs []chat.Message) []int64 {
	out := make([]int64, 0, len(msgs))
	for _, m := range msgs {
		out = append(out, m.ID)
	}
	return out
}

func testListEditsAndDeletes(t *testing.T, s chat.Store) {
	m := listFixture(t, s)
	edited, err := s.UpdateMessage(ctx(t), m[8].ID, "edited", at(100))
	if err != nil {
		t.Fatalf("UpdateMessage: %v", err)
	}
	for _, i := range []int{1, 9} {
		if _, err := s.DeleteMessage(ctx(t), m[i].ID, at(101)); err != nil {
			t.Fatalf("DeleteMessage: %v", err)
		}
	}
	wantList(t, s, chat.MessageQuery{Limit: 3}, []chat.Message{m[6], m[7], edited})
	wantList(t, s, chat.MessageQuery{Limit: 3, HasAfter: true}, []chat.Message{m[0], m[2], m[3]})
	wantList(t, s, chat.MessageQuery{Limit: 3, BeforeID: m[3].ID}, []chat.Message{m[0], m[2]})
	// An edit does not move a message: since reads creation times.
	wantList(t, s, chat.MessageQuery{Limit: 10, HasSince: true, Since: at(40).Unix()}, []chat.Message{edited})
}

func testListEmpty(t *testing.T, s chat.Store) {
	for _, q := range []chat.MessageQuery{
		{Limit: 100},
		{Limit: 100, HasAfter: true},
		{Limit: 100, HasSince: true},
		{Limit: 100, BeforeID: 5},
	} {
		got, err := s.ListMessages(ctx(t), q)
		if err != nil {
			t.Errorf("ListMessages(%+v) of an empty chat: %v", q, err)
		}
		if len(got) != 0 {
			t.Errorf("ListMessages(%+v) of an empty chat: got %v, want none", q, ids(got))
		}
	}
}
