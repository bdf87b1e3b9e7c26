package auth

import "sync/atomic"

// CountPasswordChecks makes s count its password checks in n.
func CountPasswordChecks(s *Service, n *atomic.Int64) {
	check := s.checkPassword
	s.checkPassword = func(hash, password string) (bool, error) {
		n.Add(1)
		return check(hash, password)
	}
}
