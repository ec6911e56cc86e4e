-- Personal fields sealed at rest (server/src/sealing): the flags become
-- text (sealed), each phone gets its blind index in an indexed column, and
-- a meta table records the id of the key. The store seals the existing
-- values in this same transaction, right after this script.
ALTER TABLE households ALTER COLUMN flags TYPE text USING flags::text;
ALTER TABLE households ADD COLUMN phone_index text;
ALTER TABLE people ADD COLUMN phone_index text;
CREATE INDEX households_phone_index ON households (phone_index);
CREATE INDEX people_phone_index ON people (phone_index);
CREATE TABLE wangge_meta (key text PRIMARY KEY, value text NOT NULL);
