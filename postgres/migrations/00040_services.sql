-- Cross-province services (跨省通办, service.go): the services' definitions,
-- the identities of applicant users, and applications with their evidence.
-- A definition and an application are kept as their JSON document beside
-- the columns they are selected by; version guards concurrent changes.

-- +goose Up
CREATE TABLE services (
    code TEXT PRIMARY KEY,
    doc TEXT NOT NULL
);
CREATE TABLE applicants (
    login TEXT PRIMARY KEY,
    id_kind TEXT NOT NULL,
    id_number TEXT NOT NULL,
    region TEXT NOT NULL
);
CREATE TABLE applications (
    id TEXT PRIMARY KEY,
    service TEXT NOT NULL,
    applicant_kind TEXT NOT NULL,
    applicant_number TEXT NOT NULL,
    handling TEXT NOT NULL,
    status TEXT NOT NULL,
    created BIGINT NOT NULL,
    version INTEGER NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX applications_applicant ON applications (applicant_kind, applicant_number, created);
CREATE INDEX applications_handling ON applications (handling, status, created);

-- +goose Down
DROP TABLE applications;
DROP TABLE applicants;
DROP TABLE services;
