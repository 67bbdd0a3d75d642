// Package supervision watches how shared data is used (AI 监管): its
// detectors read the audit journal in order, keep per-agreement profiles
// of use (calls per hour by day type and hour, the hours a consumer reads
// in, the fields and purposes it uses, the masked-field probes it spends)
// and raise an alert when use departs from the profile by more than
// thresholds a steward can read. Every alert says which counts crossed
// which threshold and names the journal entries that show it.
//
// The statistics are deliberately plain: medians and median absolute
// deviations of hourly counts over the last working days or rest days
// (the hub's calendar decides, so a holiday Monday is compared with
// Sundays and a make-up Saturday with working days), maxima of past days,
// and counts in sliding windows of minutes. No model fires without being
// able to say why.
//
// A Detector is a pure function of the events it has seen: the same
// sequence gives the same alerts. The Supervisor uses that to resume
// after a restart: it replays the journal up to the cursor it stored with
// its last alerts, silently, and goes on from there, so no event is
// missed and no alert raised twice.
package supervision
