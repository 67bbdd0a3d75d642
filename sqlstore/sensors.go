package sqlstore

import (
	"context"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hutong/hutong"
)

// stationIterations is the PBKDF2 work factor of stations' HJ 212
// passwords: lower than people's (pbkdf2Iterations) because every
// station's connection checks one, and a verified password is then
// remembered as its SHA-256 (Sensors.verified) so packets cost a hash.
const stationIterations = 20_000

// Sensors implements hutong.StationService and hutong.ReadingStore: the
// monitoring stations and their readings as a time series. Stations'
// registrations go through the audit outbox; readings do not (they are
// data, at up to 100,000 a second, not changes of the sharing flow).
// Safe for concurrent use.
type Sensors struct {
	// Iterations is the PBKDF2 work factor of the passwords it stores
	// (stationIterations when 0); a benchmark registering thousands of
	// stations lowers it.
	Iterations int

	db *DB

	mu       sync.Mutex
	verified map[string][32]byte // MN → SHA-256 of the password last verified
}

var (
	_ hutong.StationService = (*Sensors)(nil)
	_ hutong.ReadingStore   = (*Sensors)(nil)
)

// NewSensors returns the sensors' store on db.
func NewSensors(db *DB) *Sensors {
	return &Sensors{db: db, verified: map[string][32]byte{}}
}

// authorise checks that the actor manages the station's owner department
// and that the station stands in the department's province.
func (s *Sensors) authorise(ctx context.Context, st *hutong.Station) error {
	d := s.db.department(st.Department)
	if d == nil {
		return hutong.Invalid("invalid station", []hutong.Violation{{Field: "department", Rule: "unknown", Message: fmt.Sprintf("department %s is not registered", st.Department)}})
	}
	if !hutong.ActorFromContext(ctx).CanManage(d.ID, d.Region) {
		return hutong.Errorf(hutong.EFORBIDDEN, "only a steward of %s, its province's region admin or a platform admin registers its stations", d.Name)
	}
	if hutong.ProvinceOf(st.Region) != hutong.ProvinceOf(d.Region) || !s.db.isMember(st.Region) {
		return hutong.Invalid("invalid station", []hutong.Violation{{Field: "region", Rule: "outside", Message: fmt.Sprintf("region %s is not in the province of %s", st.Region, d.Name)}})
	}
	return nil
}

// CreateStation implements hutong.StationService.
func (s *Sensors) CreateStation(ctx context.Context, st *hutong.Station) error {
	if err := hutong.ValidateStation(st, true); err != nil {
		return err
	}
	if err := s.authorise(ctx, st); err != nil {
		return err
	}
	now := utc(s.db.now())
	pollutants, _ := json.Marshal(st.Pollutants)
	hash := s.hashPassword(st.Password)
	err := s.db.change(ctx, func(tx *sql.Tx) ([]*hutong.AuditEvent, error) {
		_, err := tx.ExecContext(ctx, s.db.q(`INSERT INTO sensor_stations (mn, name, region, department, longitude, latitude, pollutants, pw_hash, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			st.MN, st.Name, st.Region, st.Department, st.Longitude, st.Latitude, string(pollutants), hash, now, now)
		if err != nil {
			if s.db.d.IsUniqueViolation(err) {
				return nil, hutong.Errorf(hutong.ECONFLICT, "station %s already exists", st.MN)
			}
			return nil, internal(err)
		}
		return []*hutong.AuditEvent{{Kind: hutong.AuditStationCreate, Department: st.Department, Reason: "station " + st.MN + " in " + st.Region}}, nil
	})
	if err != nil {
		return err
	}
	st.Password = ""
	st.CreatedAt, st.UpdatedAt = now, now
	return nil
}

// UpdateStation implements hutong.StationService.
func (s *Sensors) UpdateStation(ctx context.Context, mn string, st *hutong.Station) error {
	st.MN = mn
	if err := hutong.ValidateStation(st, false); err != nil {
		return err
	}
	old, _, err := s.station(ctx, mn)
	if err != nil {
		return err
	}
	if err := s.authorise(ctx, old); err != nil {
		return err
	}
	if err := s.authorise(ctx, st); err != nil {
		return err
	}
	now := utc(s.db.now())
	pollutants, _ := json.Marshal(st.Pollutants)
	err = s.db.change(ctx, func(tx *sql.Tx) ([]*hutong.AuditEvent, error) {
		q := `UPDATE sensor_stations SET name = ?, region = ?, department = ?, longitude = ?, latitude = ?, pollutants = ?, updated_at = ?`
		args := []any{st.Name, st.Region, st.Department, st.Longitude, st.Latitude, string(pollutants), now}
		reason := "station " + mn
		if st.Password != "" {
			q += `, pw_hash = ?`
			args = append(args, s.hashPassword(st.Password))
			reason += ", new password"
		}
		res, err := tx.ExecContext(ctx, s.db.q(q+` WHERE mn = ?`), append(args, mn)...)
		if err != nil {
			return nil, internal(err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil, hutong.Errorf(hutong.ENOTFOUND, "no station %s", mn)
		}
		return []*hutong.AuditEvent{{Kind: hutong.AuditStationUpdate, Department: st.Department, Reason: reason}}, nil
	})
	if err != nil {
		return err
	}
	s.mu.Lock()
	delete(s.verified, mn)
	s.mu.Unlock()
	st.Password = ""
	st.CreatedAt, st.UpdatedAt = old.CreatedAt, now
	return nil
}

const stationColumns = `mn, name, region, department, longitude, latitude, pollutants, created_at, updated_at, pw_hash`

func scanStation(row interface{ Scan(...any) error }) (*hutong.Station, string, error) {
	var st hutong.Station
	var pollutants, hash string
	if err := row.Scan(&st.MN, &st.Name, &st.Region, &st.Department, &st.Longitude, &st.Latitude, &pollutants, &st.CreatedAt, &st.UpdatedAt, &hash); err != nil {
		return nil, "", err
	}
	if err := json.Unmarshal([]byte(pollutants), &st.Pollutants); err != nil {
		return nil, "", fmt.Errorf("station %s's pollutants: %w", st.MN, err)
	}
	st.CreatedAt, st.UpdatedAt = st.CreatedAt.UTC(), st.UpdatedAt.UTC()
	return &st, hash, nil
}

func (s *Sensors) station(ctx context.Context, mn string) (*hutong.Station, string, error) {
	st, hash, err := scanStation(s.db.ro.QueryRowContext(ctx, s.db.q(`SELECT `+stationColumns+` FROM sensor_stations WHERE mn = ?`), mn))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, "", hutong.Errorf(hutong.ENOTFOUND, "no station %s", clipMN(mn))
	}
	if err != nil {
		return nil, "", internal(err)
	}
	return st, hash, nil
}

func clipMN(mn string) string {
	if len(mn) > 32 {
		return mn[:32] + "…"
	}
	return mn
}

// Stations implements hutong.StationService.
func (s *Sensors) Stations(ctx context.Context, f hutong.StationFilter) ([]hutong.Station, error) {
	if hutong.ActorFromContext(ctx) == nil {
		return nil, hutong.Errorf(hutong.EUNAUTHORIZED, "sign in to list stations")
	}
	rows, err := s.db.ro.QueryContext(ctx, `SELECT `+stationColumns+` FROM sensor_stations ORDER BY mn`)
	if err != nil {
		return nil, internal(err)
	}
	defer rows.Close()
	out := []hutong.Station{}
	for rows.Next() {
		st, _, err := scanStation(rows)
		if err != nil {
			return nil, internal(err)
		}
		if f.Region == "" || hutong.RegionContains(f.Region, st.Region) || f.Region == st.Region {
			out = append(out, *st)
		}
	}
	return out, internal(rows.Err())
}

// AuthenticateStation implements hutong.ReadingStore. A password once
// verified is remembered (as its SHA-256) until the station is updated
// through this store.
func (s *Sensors) AuthenticateStation(ctx context.Context, mn, pw string) (*hutong.Station, error) {
	st, hash, err := s.station(ctx, mn)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256([]byte(pw))
	s.mu.Lock()
	known, ok := s.verified[mn]
	s.mu.Unlock()
	if ok && known == sum {
		return st, nil
	}
	if !checkPassword(hash, pw) {
		return nil, hutong.Errorf(hutong.EUNAUTHORIZED, "wrong password for station %s", mn)
	}
	s.mu.Lock()
	s.verified[mn] = sum
	s.mu.Unlock()
	return st, nil
}

func (s *Sensors) hashPassword(pw string) string {
	n := s.Iterations
	if n <= 0 {
		n = stationIterations
	}
	return hashStationPassword(pw, n)
}

func hashStationPassword(pw string, iterations int) string {
	salt := make([]byte, 16)
	rand.Read(salt)
	key, _ := pbkdf2.Key(sha256.New, pw, salt, iterations, 32)
	return fmt.Sprintf("pbkdf2-sha256$%d$%s$%s", iterations,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

// AppendReadings implements hutong.ReadingStore: one transaction of
// multi-row INSERTs, a reading already stored replaced by the new one.
// The commit reaches the disk before it returns: PostgreSQL's commit
// waits for its WAL flush (synchronous_commit on), and on SQLite, whose
// catalog commits skip the WAL's fsync (synchronous NORMAL), this
// transaction runs with synchronous FULL, so an acknowledged reading
// survives a power loss.
func (s *Sensors) AppendReadings(ctx context.Context, rs []hutong.Reading) error {
	if len(rs) == 0 {
		return nil
	}
	for i := range rs {
		if err := hutong.ValidateReading(&rs[i]); err != nil {
			return err
		}
	}
	conn, err := s.db.rw.Conn(ctx)
	if err != nil {
		return internal(err)
	}
	defer conn.Close()
	if s.db.d.Name == "sqlite" {
		if _, err := conn.ExecContext(ctx, `PRAGMA synchronous = FULL`); err != nil {
			return internal(err)
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), `PRAGMA synchronous = NORMAL`)
	}
	samples := toSamples(rs)
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return internal(err)
	}
	defer tx.Rollback()
	if len(samples) >= samplesChunk {
		// One statement prepared for the full chunks, then the rest.
		stmt, err := tx.PrepareContext(ctx, s.insertSamples(samplesChunk))
		if err != nil {
			return internal(err)
		}
		defer stmt.Close()
		for len(samples) >= samplesChunk {
			if _, err := stmt.ExecContext(ctx, sampleArgs(samples[:samplesChunk])...); err != nil {
				return internal(err)
			}
			samples = samples[samplesChunk:]
		}
	}
	if len(samples) > 0 {
		if _, err := tx.ExecContext(ctx, s.insertSamples(len(samples)), sampleArgs(samples)...); err != nil {
			return internal(err)
		}
	}
	return internal(tx.Commit())
}

// sample is one row of sensor_samples: a station's values of one period
// at one time.
type sample struct {
	mn, period string
	at         int64
	vals       []byte
}

// toSamples groups readings by station, period and time, in order of
// first appearance; a later value of a code follows the earlier one.
func toSamples(rs []hutong.Reading) []sample {
	type key struct {
		mn, period string
		at         int64
	}
	index := map[key]int{}
	var out []sample
	for _, r := range rs {
		k := key{r.Station, r.Period, r.Time.Unix()}
		i, ok := index[k]
		if !ok {
			i = len(out)
			index[k] = i
			out = append(out, sample{mn: k.mn, period: k.period, at: k.at})
		}
		v := out[i].vals
		if len(v) > 0 {
			v = append(v, ';')
		}
		v = append(v, r.Pollutant...)
		v = append(v, '=')
		v = strconv.AppendFloat(v, r.Value, 'g', -1, 64)
		v = append(v, ':')
		v = append(v, r.Flag...)
		out[i].vals = v
	}
	return out
}

// eachValue calls fn with the values of a row's vals, the last of each
// code only, in the order of their last appearance.
func eachValue(vals string, fn func(code, flag string, value float64)) error {
	type value struct {
		code, flag string
		v          float64
	}
	var vs []value
	for item := range strings.SplitSeq(vals, ";") {
		code, rest, ok1 := strings.Cut(item, "=")
		num, flag, ok2 := strings.Cut(rest, ":")
		x, err := strconv.ParseFloat(num, 64)
		if !ok1 || !ok2 || err != nil {
			return fmt.Errorf("sensor sample %q cannot be read", clipMN(item))
		}
		vs = slices.DeleteFunc(vs, func(o value) bool { return o.code == code })
		vs = append(vs, value{code, flag, x})
	}
	for _, v := range vs {
		fn(v.code, v.flag, v.v)
	}
	return nil
}

// samplesChunk is how many samples one INSERT statement carries.
const samplesChunk = 500

func sampleArgs(ss []sample) []any {
	args := make([]any, 0, 4*len(ss))
	for _, x := range ss {
		args = append(args, x.mn, x.period, x.at, string(x.vals))
	}
	return args
}

// insertSamples returns the INSERT of n samples; a sample already stored
// gets the new values appended.
func (s *Sensors) insertSamples(n int) string {
	var b strings.Builder
	b.WriteString(`INSERT INTO sensor_samples (mn, period, at, vals) VALUES `)
	p := 0
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('(')
		for j := range 4 {
			if j > 0 {
				b.WriteByte(',')
			}
			if p++; s.db.d.Dollar {
				b.WriteString("$" + strconv.Itoa(p))
			} else {
				b.WriteByte('?')
			}
		}
		b.WriteByte(')')
	}
	b.WriteString(` ON CONFLICT (mn, period, at) DO UPDATE SET vals = sensor_samples.vals || ';' || excluded.vals`)
	return b.String()
}

// Readings implements hutong.ReadingStore.
func (s *Sensors) Readings(ctx context.Context, f hutong.ReadingFilter) ([]hutong.Reading, error) {
	q := `SELECT mn, period, at, vals FROM sensor_samples WHERE 1 = 1`
	var args []any
	for _, c := range []struct{ col, v string }{{"mn", f.Station}, {"period", f.Period}} {
		if c.v != "" {
			q += ` AND ` + c.col + ` = ?`
			args = append(args, c.v)
		}
	}
	if !f.From.IsZero() {
		q += ` AND at >= ?`
		args = append(args, f.From.Unix())
	}
	if !f.To.IsZero() {
		q += ` AND at < ?`
		args = append(args, f.To.Unix())
	}
	limit := f.Limit
	if limit <= 0 || limit > 100_000 {
		limit = 1000
	}
	q += ` ORDER BY at DESC, mn, period`
	out := []hutong.Reading{}
	err := s.eachSample(ctx, q, args, func(r hutong.Reading) bool {
		if f.Pollutant == "" || r.Pollutant == f.Pollutant {
			out = append(out, r)
		}
		return len(out) < limit
	})
	return out, err
}

// eachSample runs q and calls fn with each reading of its rows (mn,
// period, at, vals) until fn returns false.
func (s *Sensors) eachSample(ctx context.Context, q string, args []any, fn func(hutong.Reading) bool) error {
	rows, err := s.db.ro.QueryContext(ctx, s.db.q(q), args...)
	if err != nil {
		return internal(err)
	}
	defer rows.Close()
	more := true
	for more && rows.Next() {
		var mn, period, vals string
		var at int64
		if err := rows.Scan(&mn, &period, &at, &vals); err != nil {
			return internal(err)
		}
		t := time.Unix(at, 0).UTC()
		err := eachValue(vals, func(code, flag string, v float64) {
			if more {
				more = fn(hutong.Reading{Station: mn, Pollutant: code, Period: period, Time: t, Value: v, Flag: flag})
			}
		})
		if err != nil {
			return internal(err)
		}
	}
	return internal(rows.Err())
}

// StationsByMN returns every station by MN, for the hub's own use (the
// live air picture places readings by their station's region); it checks
// no actor.
func (s *Sensors) StationsByMN(ctx context.Context) (map[string]hutong.Station, error) {
	rows, err := s.db.ro.QueryContext(ctx, `SELECT `+stationColumns+` FROM sensor_stations`)
	if err != nil {
		return nil, internal(err)
	}
	defer rows.Close()
	out := map[string]hutong.Station{}
	for rows.Next() {
		st, _, err := scanStation(rows)
		if err != nil {
			return nil, internal(err)
		}
		out[st.MN] = *st
	}
	return out, internal(rows.Err())
}

// RecordEpisode notifies the environment departments of both provinces
// of a cross-border episode (a notification each, which their users and
// their provinces' region admins see) and records it, in one change.
func (s *Sensors) RecordEpisode(ctx context.Context, ep *hutong.AirEpisode) error {
	now := utc(s.db.now())
	return s.db.change(ctx, func(tx *sql.Tx) ([]*hutong.AuditEvent, error) {
		for i := range 2 {
			j := 1 - i
			params, _ := json.Marshal(map[string]string{
				"city": ep.Cities[i], "aqi": strconv.Itoa(ep.AQI[i]), "other_city": ep.Cities[j], "other_aqi": strconv.Itoa(ep.AQI[j]),
				"threshold": strconv.Itoa(ep.Threshold), "hour": ep.Hours[i].UTC().Format(time.RFC3339),
			})
			_, err := tx.ExecContext(ctx, s.db.q(`INSERT INTO notifications (region, department, kind, request_id, params, message, created_at) VALUES (?, ?, ?, '', ?, '', ?)`),
				ep.Provinces[i], ep.Departments[i], hutong.NotifyAirEpisode, string(params), now)
			if err != nil {
				return nil, internal(err)
			}
		}
		return []*hutong.AuditEvent{{Kind: hutong.AuditAirEpisode, Actor: "system:sensors",
			Reason: fmt.Sprintf("cross-border episode: %s AQI %d at %s, %s AQI %d at %s, above %d; notified %s and %s",
				ep.Cities[0], ep.AQI[0], ep.Hours[0].UTC().Format(time.RFC3339), ep.Cities[1], ep.AQI[1], ep.Hours[1].UTC().Format(time.RFC3339),
				ep.Threshold, ep.Departments[0], ep.Departments[1])}}, nil
	})
}

// EachReading calls fn with every reading of period taken at or after
// since, in time order, for the hub's own use (the live air picture
// rebuilt at start); it checks no actor. fn's error stops the walk.
func (s *Sensors) EachReading(ctx context.Context, period string, since time.Time, fn func(hutong.Reading) error) error {
	var ferr error
	err := s.eachSample(ctx, `SELECT mn, period, at, vals FROM sensor_samples WHERE period = ? AND at >= ? ORDER BY at`, []any{period, since.Unix()},
		func(r hutong.Reading) bool {
			ferr = fn(r)
			return ferr == nil
		})
	if ferr != nil {
		return ferr
	}
	return err
}

// Retention is how long each period's readings are kept before
// Downsample folds them into the next period: real-time and minute
// readings into hourly means, hourly into daily means. Daily readings
// are kept.
type Retention struct {
	Raw  time.Duration // real-time and minute readings; 7 days when 0
	Hour time.Duration // hourly readings; 90 days when 0
}

func (r Retention) withDefaults() Retention {
	if r.Raw <= 0 {
		r.Raw = 7 * 24 * time.Hour
	}
	if r.Hour <= 0 {
		r.Hour = 90 * 24 * time.Hour
	}
	return r
}

// Downsample folds the readings older than the retention into the next
// period (minute → hour → day): each station's mean of a pollutant's
// normal (flag N) values in the hour or the China Standard Time day,
// written where the station sent no value of its own for that hour or
// day, and deletes the folded readings, in one transaction per day of
// readings so that none is lost between the two. It returns how many
// samples (a station's values at one time) it deleted.
func (s *Sensors) Downsample(ctx context.Context, now time.Time, r Retention) (int64, error) {
	r = r.withDefaults()
	var total int64
	for _, step := range []struct {
		from   []string
		to     string
		before time.Time
		bucket func(time.Time) time.Time
	}{
		{[]string{hutong.PeriodRealtime, hutong.PeriodMinute}, hutong.PeriodHour, now.Add(-r.Raw), func(t time.Time) time.Time { return t.Truncate(time.Hour) }},
		{[]string{hutong.PeriodHour}, hutong.PeriodDay, now.Add(-r.Hour), func(t time.Time) time.Time {
			y, m, d := t.In(hutong.ChinaTime).Date()
			return time.Date(y, m, d, 0, 0, 0, 0, hutong.ChinaTime)
		}},
	} {
		for _, from := range step.from {
			for {
				n, more, err := s.downsampleDay(ctx, from, step.to, step.before, step.bucket)
				total += n
				if err != nil {
					return total, err
				}
				if !more {
					break
				}
			}
		}
	}
	return total, nil
}

// downsampleDay folds the oldest day of from's readings before before
// into to; more says whether older readings remain.
func (s *Sensors) downsampleDay(ctx context.Context, from, to string, before time.Time, bucket func(time.Time) time.Time) (n int64, more bool, err error) {
	var oldest sql.NullInt64
	if err := s.db.ro.QueryRowContext(ctx, s.db.q(`SELECT MIN(at) FROM sensor_samples WHERE period = ? AND at < ?`), from, before.Unix()).Scan(&oldest); err != nil {
		return 0, false, internal(err)
	}
	if !oldest.Valid {
		return 0, false, nil
	}
	// A whole day of buckets: the end is a bucket boundary.
	end := bucket(time.Unix(oldest.Int64, 0).Add(24 * time.Hour))
	if !end.Before(before) {
		end = bucket(before)
	}
	if !end.After(time.Unix(oldest.Int64, 0)) {
		return 0, false, nil // the oldest bucket is not over yet
	}
	type key struct {
		mn string
		at int64
	}
	type mean struct {
		sum float64
		n   int
	}
	sums := map[key]map[string]*mean{}
	lo, hi := oldest.Int64, end.Unix()
	err = s.eachSample(ctx, `SELECT mn, period, at, vals FROM sensor_samples WHERE period = ? AND at >= ? AND at < ?`, []any{from, lo, hi}, func(r hutong.Reading) bool {
		if r.Flag != "N" {
			return true
		}
		k := key{r.Station, bucket(r.Time).Unix()}
		if sums[k] == nil {
			sums[k] = map[string]*mean{}
		}
		m := sums[k][r.Pollutant]
		if m == nil {
			m = &mean{}
			sums[k][r.Pollutant] = m
		}
		m.sum += r.Value
		m.n++
		return true
	})
	if err != nil {
		return 0, false, err
	}
	// The station's own values of the coarser period win.
	err = s.eachSample(ctx, `SELECT mn, period, at, vals FROM sensor_samples WHERE period = ? AND at >= ? AND at < ?`, []any{to, bucket(time.Unix(lo, 0)).Unix(), hi}, func(r hutong.Reading) bool {
		delete(sums[key{r.Station, r.Time.Unix()}], r.Pollutant)
		return true
	})
	if err != nil {
		return 0, false, err
	}
	var rs []hutong.Reading
	for k, byCode := range sums {
		for code, m := range byCode {
			rs = append(rs, hutong.Reading{Station: k.mn, Pollutant: code, Period: to, Time: time.Unix(k.at, 0).UTC(), Value: m.sum / float64(m.n), Flag: "N"})
		}
	}
	samples := toSamples(rs)
	err = s.db.tx(ctx, func(tx *sql.Tx) error {
		for len(samples) > 0 {
			k := min(len(samples), samplesChunk)
			if _, err := tx.ExecContext(ctx, s.insertSamples(k), sampleArgs(samples[:k])...); err != nil {
				return err
			}
			samples = samples[k:]
		}
		res, err := tx.ExecContext(ctx, s.db.q(`DELETE FROM sensor_samples WHERE period = ? AND at >= ? AND at < ?`), from, lo, hi)
		if err != nil {
			return err
		}
		n, _ = res.RowsAffected()
		return nil
	})
	if err != nil {
		return 0, false, internal(err)
	}
	return n, true, nil
}
