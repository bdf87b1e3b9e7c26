package schema

import "regexp"

var (
	// slugPattern: lowercase letters, digits and dashes, 2-63 characters.
	slugPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,62}$`)
	// e164Pattern: a phone number in E.164 form, "+" then 8-15 digits.
	e164Pattern = regexp.MustCompile(`^\+[1-9][0-9]{7,14}$`)
	// emailPattern is deliberately loose: something@something.tld, no spaces.
	emailPattern = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s]+$`)
)
