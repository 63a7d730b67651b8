package keyhole

import "time"

// App is a small resource owned by an account or by a team, there so that
// scopes and permissions protect something real. Its config vars are
// runtime secrets.
type App struct {
	ID string
	// Exactly one of AccountID and TeamID is set: the owner.
	AccountID string
	TeamID    string
	// Locked team apps cannot be joined by the team's members: only an
	// admin, or somebody who may manage the app, adds people to it.
	Locked      bool
	Name        string
	Region      string
	Stack       string
	Maintenance bool
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Named is something with a fixed id and a name, such as a region.
type Named struct {
	ID   string
	Name string
}

// Regions an app can run in; the first is the default.
var Regions = []Named{
	{ID: "59accabd-516d-4f0e-83e6-6e3757701145", Name: "us"},
	{ID: "ed30241c-ed8c-4bb6-9714-61953675d0b4", Name: "eu"},
}

// Stacks an app can be built on; the first is the default.
var Stacks = []Named{
	{ID: "ae20c2ee-2fd0-4d5f-9f4a-6e3a3ba6b8b4", Name: "heroku-24"},
	{ID: "74cfe988-7527-4ca4-a0ce-4d2bd1a6e2ff", Name: "heroku-22"},
}

// Lookup returns the entry of list whose id or name is s.
func Lookup(list []Named, s string) (Named, bool) {
	for _, n := range list {
		if n.ID == s || n.Name == s {
			return n, true
		}
	}
	return Named{}, false
}
