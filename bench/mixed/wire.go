package mixed

// Subscription is what every agent's and supervisor's app asks for.
const Subscription = `subscription { conversationEvents { seq kind conversation { id status unreadCount assignee { id } } } }`

// Ready is the server's first stdout line.
type Ready struct {
	Base string `json:"base"` // http://127.0.0.1:port
	Seed string `json:"seed"` // the path of the Seed it wrote, as JSON
}

// Seed is what the server made and what the load needs to act on it.
type Seed struct {
	AppSecret     string         `json:"appSecret"` // signs the webhooks (X-Hub-Signature-256)
	Numbers       []Number       `json:"numbers"`
	Agents        []Person       `json:"agents"`
	Supervisors   []Person       `json:"supervisors"`
	Conversations []Conversation `json:"conversations"`
}

// Number is a WhatsApp number of the tenant.
type Number struct {
	ID            string `json:"id"`
	PhoneNumberID string `json:"phoneNumberId"` // Meta's id, which webhooks name
	DisplayPhone  string `json:"displayPhone"`
}

// Person is a signed-in agent or supervisor.
type Person struct {
	ID     string `json:"id"`
	Token  string `json:"token"`
	Number int    `json:"number"` // index in Seed.Numbers; -1 for supervisors
}

// Conversation is an open conversation, assigned.
type Conversation struct {
	ID       string `json:"id"`
	Number   int    `json:"number"`   // index in Seed.Numbers
	Assignee int    `json:"assignee"` // index in Seed.Agents
	WaID     string `json:"waId"`     // the customer's
}

// Stats is the server's /bench/stats answer.
type Stats struct {
	Statements    int64 `json:"statements"` // through ent since start
	Connections   int   `json:"connections"`
	Subscriptions int   `json:"subscriptions"`
	Executions    int   `json:"executions"` // the gateway's shared executions
	TooSlow       int64 `json:"tooSlow"`    // connections closed for not reading
}
