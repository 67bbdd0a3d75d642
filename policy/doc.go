// Package policy decides calls to the exchange with Cedar
// (github.com/cedar-policy/cedar-go). Each agreement compiles to one permit
// policy; the platform adds forbid policies that no agreement can override.
// An Engine evaluates both on every call and implements hutong.Authorizer.
//
// The Cedar model:
//
//	principal  Hutong::Department::"<consumer USCC>"
//	action     Hutong::Action::"read" | Hutong::Action::"export"
//	resource   Hutong::Resource::"<code>" with attributes
//	           share_type (String), level (Long), grade (String), provider (String)
//	context    purpose (String), fields (Set of String), now (Long, Unix seconds)
//
// An agreement becomes
//
//	@id("agreement/<id>")
//	permit (
//	    principal == Hutong::Department::"<consumer>",
//	    action,
//	    resource == Hutong::Resource::"<code>"
//	)
//	when { action == Hutong::Action::"read" || action == Hutong::Action::"export" }
//	when {
//	    context.purpose == "<purpose>" &&
//	    context.now >= <valid from> && context.now < <valid until> &&
//	    ["<field>", …].containsAll(context.fields)
//	};
//
// Policies are built with Cedar's AST builder, never by formatting text, so
// purposes and field names (free text) cannot change a policy's meaning.
// The validity window is whole seconds rounded inward (ValidFrom up,
// ValidUntil down), so a sub-second bound never widens the window.
package policy
