package hutong

import (
	"context"
	"time"
)

// FeedbackFilter selects the use of a provider's resources (共享情况反馈).
type FeedbackFilter struct {
	Provider string
	From, To time.Time // [From, To)
}

// FeedbackLine is the use of one resource by one consumer department on one
// day (China Standard Time), with the ledger entries that prove it.
type FeedbackLine struct {
	Day          string   `json:"day"`
	Resource     string   `json:"resource"`
	ResourceName string   `json:"resource_name,omitempty"`
	Consumer     string   `json:"consumer"`
	ConsumerName string   `json:"consumer_name,omitempty"`
	Fields       []string `json:"fields"`
	Purposes     []string `json:"purposes"`
	Calls        int64    `json:"calls"`
	Refused      int64    `json:"refused"`
	Rows         int64    `json:"rows"`
	// Entries are the ledger indexes of the calls, at most MaxFeedbackEntries.
	Entries []uint64 `json:"entries"`
}

// MaxFeedbackEntries caps the ledger indexes one feedback line lists.
const MaxFeedbackEntries = 1000

// Feedback is the use of a provider's resources over a period.
type Feedback struct {
	Provider string         `json:"provider"`
	From     time.Time      `json:"from"`
	To       time.Time      `json:"to"`
	Lines    []FeedbackLine `json:"lines"`
}

// FeedbackService reports to providers how their resources were used.
type FeedbackService interface {
	// Feedback returns the use of f.Provider's resources, built from the
	// audit journal the ledger follows, ordered by day, resource and
	// consumer. Only the provider's users, its region admin, auditors and
	// platform admins may read it.
	Feedback(ctx context.Context, f FeedbackFilter) (*Feedback, error)
}
