# Incidents arrive with the mishandling-report issue; the app exists so the layout is fixed.
