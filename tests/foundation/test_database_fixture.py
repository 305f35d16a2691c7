import psycopg


def test_each_database_a_test_asks_for_is_new_and_empty(fresh_database) -> None:
    url = fresh_database()
    with psycopg.connect(url) as conn:
        name = conn.execute("SELECT current_database()").fetchone()[0]
        tables = conn.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
        ).fetchone()[0]
    assert name.startswith("utask_test_")
    assert tables == 0
