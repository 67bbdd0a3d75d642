-- The files applicants add to their applications (service.go, Upload):
-- a PDF or an image of at most 10 MiB each; the application's document
-- lists them.

-- +goose Up
CREATE TABLE application_uploads (
    app TEXT NOT NULL,
    n INTEGER NOT NULL,
    data BYTEA NOT NULL,
    PRIMARY KEY (app, n)
);

-- +goose Down
DROP TABLE application_uploads;
