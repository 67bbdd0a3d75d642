package http

import "net/http"

// Routes returns the method and path of every route s serves, for tests.
func Routes(s *Server) []string {
	var out []string
	for _, r := range s.routes {
		out = append(out, r.pattern)
	}
	return out
}

// RouteInfo is what the route table says of a route, for tests.
type RouteInfo struct {
	Pattern string // "GET /api/v1/resources/{code}"
	// Access is "public", "anyActor" (a user or an application key) or
	// "usersOnly" (a signed-in user).
	Access string
	// BodyLimit is the most bytes its body may have.
	BodyLimit int64
}

// RouteOf returns the route of s that serves r, and false when none does.
func RouteOf(s *Server, r *http.Request) (RouteInfo, bool) {
	mux := http.NewServeMux()
	byPattern := map[string]route{}
	for _, rt := range s.routes {
		mux.Handle(rt.pattern, http.NotFoundHandler())
		byPattern[rt.pattern] = rt
	}
	_, pattern := mux.Handler(r)
	rt, ok := byPattern[pattern]
	if !ok {
		return RouteInfo{}, false
	}
	return RouteInfo{Pattern: rt.pattern, Access: [...]string{"public", "anyActor", "usersOnly"}[rt.access], BodyLimit: s.limit(rt.body)}, true
}
