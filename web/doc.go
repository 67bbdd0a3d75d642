// Package web is the hub's dashboard for people: server-rendered
// html/template pages with htmx for interaction and ECharts for charts,
// every string in one translation table (zh-CN first, English second) and
// every asset embedded. The API server mounts it as one handler for every
// path that is not the API's.
//
// Sessions are the AuthService's session tokens in an HttpOnly,
// SameSite=Strict cookie; every POST carries a CSRF token, the HMAC of the
// session token under a key drawn at start. The services enforce who may
// do what; the pages only leave out what a role cannot do.
package web
