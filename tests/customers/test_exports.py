from portal.csv_export import csv_chunks, csv_lines

COLUMNS = ["id", "name", "organisation"]
ROWS = [
    {"id": i, "name": f'O\'Brien "Junior", {i}', "organisation": "Acme,\nInc." if i % 3 else ""}
    for i in range(200)
]


def test_export_pieces_join_to_exactly_the_csv_lines():
    assert "".join(csv_chunks(COLUMNS, ROWS, size=500)) == "".join(csv_lines(COLUMNS, ROWS))


def test_export_pieces_stay_bounded_whatever_the_number_of_rows():
    longest_line = max(len(line) for line in csv_lines(COLUMNS, ROWS))

    pieces = list(csv_chunks(COLUMNS, ROWS, size=500))

    assert len(pieces) > 10
    assert max(len(piece) for piece in pieces) < 500 + longest_line
