package http

// Routes returns the method and path of every route s serves, for tests.
func Routes(s *Server) []string {
	var out []string
	for _, r := range s.routes {
		out = append(out, r.pattern)
	}
	return out
}
