-- Monitoring stations (HJ 212) and their readings (sqlstore.Sensors). A
-- reading's time is Unix seconds; period is rtd, minute, hour or day.

-- +goose Up
CREATE TABLE sensor_stations (
    mn TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    region TEXT NOT NULL,
    department TEXT NOT NULL,
    longitude DOUBLE PRECISION NOT NULL,
    latitude DOUBLE PRECISION NOT NULL,
    pollutants TEXT NOT NULL,
    pw_hash TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX sensor_stations_region ON sensor_stations (region);
-- One row per station, period and time: the values a packet carried,
-- "code=value:flag" joined by ";". A value sent again is appended and
-- the last one of a code counts, so a row is written once per packet
-- rather than once per pollutant.
CREATE TABLE sensor_samples (
    mn TEXT NOT NULL,
    period TEXT NOT NULL,
    at BIGINT NOT NULL,
    vals TEXT NOT NULL,
    PRIMARY KEY (mn, period, at)
) WITHOUT ROWID;

-- +goose Down
DROP TABLE sensor_samples;
DROP TABLE sensor_stations;
