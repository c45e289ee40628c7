import java.sql.*;
public class JdbcCheck {
    public static void main(String[] args) throws Exception {
        try (Connection c = DriverManager.getConnection(args[0], "tester", args[1])) {
            try (Statement s = c.createStatement()) {
                s.execute("CREATE TABLE jdbc_t (id int PRIMARY KEY, name text, at timestamptz, n numeric, ok boolean)");
            }
            try (PreparedStatement p = c.prepareStatement("INSERT INTO jdbc_t VALUES (?, ?, ?, ?, ?)")) {
                for (int i = 1; i <= 3; i++) {
                    p.setInt(1, i); p.setString(2, "n" + i);
                    p.setTimestamp(3, new Timestamp(86400000L * i)); p.setBigDecimal(4, new java.math.BigDecimal("1.5")); p.setBoolean(5, i % 2 == 0);
                    p.executeUpdate();
                }
            }
            c.setAutoCommit(false);
            try (Statement s = c.createStatement()) { s.executeUpdate("UPDATE jdbc_t SET name = 'x' WHERE id = 1"); }
            c.rollback();
            try (Statement s = c.createStatement()) { s.executeUpdate("UPDATE jdbc_t SET name = 'y' WHERE id = 2"); }
            c.commit();
            c.setAutoCommit(true);
            try (PreparedStatement p = c.prepareStatement("SELECT id, name, at, n, ok FROM jdbc_t WHERE id >= ? ORDER BY id")) {
                p.setInt(1, 1);
                try (ResultSet r = p.executeQuery()) {
                    while (r.next()) System.out.println(r.getInt(1) + "|" + r.getString(2) + "|" + r.getTimestamp(3).getTime() + "|" + r.getBigDecimal(4) + "|" + r.getBoolean(5));
                }
            }
            try (Statement s = c.createStatement()) { s.executeQuery("SELECT * FROM nope"); }
            catch (SQLException e) { System.out.println("sqlstate " + e.getSQLState()); }
            DatabaseMetaData md = c.getMetaData();
            System.out.println(md.getDatabaseProductName() + " " + md.getDatabaseProductVersion());
            try (ResultSet r = md.getTables(null, null, "jdbc%", new String[]{"TABLE"})) {
                while (r.next()) System.out.println("table " + r.getString("TABLE_SCHEM") + "." + r.getString("TABLE_NAME"));
            }
        }
    }
}
