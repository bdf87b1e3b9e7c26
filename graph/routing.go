package graph

// deref is *s, or "" for nil: an optional ID argument.
func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
