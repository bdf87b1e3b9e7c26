-- Postgres has kept the event bus's sequences in realtime_sequences since 0003; SQLite creates its table here.
SELECT 1;
